#!/usr/bin/env bash
# gen.sh regenerates the generated code committed in this directory from interop.proto:
#   interoppb/interop.pb.go        protoc-gen-go messages (the Skiff side)
#   interoppb/interop_skiff.pb.go  Skiff service code (protoc-gen-skiff from ../../tool)
#   kitex_gen/interoppb       Kitex v0.15.2 Kitex Protobuf code (prutal messages + service)
# Needs protoc (Debian: apt-get install -y protobuf-compiler). The Kitex generator is pinned by
# the tool line of ../../benchmark/go.mod (kitex v0.15.2); protoc-gen-go is the version of
# google.golang.org/protobuf that ../go.mod requires.
set -euo pipefail
cd "$(dirname "$0")"
export GOWORK=off

rm -rf kitex_gen interoppb/interop.pb.go interoppb/interop_skiff.pb.go
go tool -modfile=../../benchmark/go.mod kitex -module github.com/skiffrpc/skiff/tests -gen-path kitex_gen interop.proto

mkdir -p interoppb .bin
trap 'rm -rf .bin' EXIT
go build -o .bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
(cd ../../tool && go build -o ../tests/kitexpb/.bin/protoc-gen-skiff ./cmd/protoc-gen-skiff)
protoc -I . \
	--plugin=protoc-gen-go=.bin/protoc-gen-go \
	--plugin=protoc-gen-skiff=.bin/protoc-gen-skiff \
	--skiff_out=interoppb --skiff_opt=paths=source_relative \
	--skiff_opt=Minterop.proto=github.com/skiffrpc/skiff/tests/kitexpb/interoppb\;interoppb \
	--go_out=interoppb --go_opt=paths=source_relative \
	--go_opt=Minterop.proto=github.com/skiffrpc/skiff/tests/kitexpb/interoppb\;interoppb \
	interop.proto
gofmt -l kitex_gen interoppb | xargs -r gofmt -w
