#!/usr/bin/env bash
# gen.sh regenerates the generated code committed in this directory, for
# idl/stream.proto:
#   streampb           protobuf messages (protoc-gen-go), used by the Skiff side
#   kitex_gen/streampb Kitex v0.15.2 code (prutal messages + gRPC streaming stubs)
# Needs protoc (Debian: apt-get install -y protobuf-compiler). The generators
# are pinned by the tool lines in ../go.mod.
set -euo pipefail
cd "$(dirname "$0")"
export GOWORK=off

rm -rf kitex_gen streampb
go tool kitex -module github.com/skiffrpc/skiff/tests -gen-path kitex_gen idl/stream.proto

mkdir -p streampb .bin
trap 'rm -rf .bin' EXIT
go build -o .bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
protoc -I idl --plugin=protoc-gen-go=.bin/protoc-gen-go \
	--go_out=streampb --go_opt=paths=source_relative \
	--go_opt=Mstream.proto=github.com/skiffrpc/skiff/tests/grpc/streampb\;streampb \
	stream.proto
gofmt -l kitex_gen streampb | xargs -r gofmt -w
