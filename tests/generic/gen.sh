#!/usr/bin/env bash
# gen.sh regenerates the typed code the generic tests call and serve:
#   gen/alltypes, gen/base  Skiff Thrift code for idl/all.thrift (the skiff command in ../../tool)
#   pbgen                   protoc-gen-go messages and Skiff service code for idl/wkt.proto
# Needs protoc (Debian: apt-get install -y protobuf-compiler).
set -euo pipefail
cd "$(dirname "$0")"
export GOWORK=off

rm -rf gen pbgen
(cd ../../tool && go run ./cmd/skiff -out ../tests/generic/gen \
	-module github.com/skiffrpc/skiff/tests/generic/gen ../tests/generic/idl/all.thrift)

mkdir -p pbgen .bin
trap 'rm -rf .bin' EXIT
go build -o .bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
(cd ../../tool && go build -o ../tests/generic/.bin/protoc-gen-skiff ./cmd/protoc-gen-skiff)
protoc -I idl \
	--plugin=protoc-gen-go=.bin/protoc-gen-go \
	--plugin=protoc-gen-skiff=.bin/protoc-gen-skiff \
	--skiff_out=pbgen --skiff_opt=paths=source_relative \
	--go_out=pbgen --go_opt=paths=source_relative \
	wkt.proto
