#!/usr/bin/env bash
# gen.sh regenerates the peers' generated code committed in this module:
#   kitex_gen/echo    Kitex Thrift code for ../examples/echo/echo.thrift (the IDL Skiff's echo uses)
#   kitex_gen/echopb  Kitex Protobuf code for idl/echo.proto
#   kitex_gen/streamecho, skiffstream  Kitex (streamx) and Skiff code for idl/stream.thrift,
#                     the Thrift streaming service of the ttstream bidi benchmark
#   grpcpb            grpc-go code (protoc-gen-go + protoc-gen-go-grpc) for idl/echo.proto,
#                     plus Skiff's service code for it (protoc-gen-skiff from ../tool; grpc_compat=true
#                     names its client EchoServiceSkiffClient, apart from grpc-go's EchoServiceClient)
# Needs protoc (Debian: apt-get install -y protobuf-compiler). The generators are
# pinned by the tool lines in go.mod (kitex v0.15.2, protoc-gen-go, protoc-gen-go-grpc).
set -euo pipefail
cd "$(dirname "$0")"
export GOWORK=off

rm -rf kitex_gen grpcpb skiffstream
go tool kitex -module github.com/skiffrpc/skiff/benchmark -gen-path kitex_gen ../examples/echo/echo.thrift
go tool kitex -module github.com/skiffrpc/skiff/benchmark -gen-path kitex_gen idl/echo.proto
go tool kitex -streamx -module github.com/skiffrpc/skiff/benchmark -gen-path kitex_gen idl/stream.thrift
(cd ../tool && go run ./cmd/skiff -out ../benchmark/skiffstream -module github.com/skiffrpc/skiff/benchmark/skiffstream ../benchmark/idl/stream.thrift)

mkdir -p grpcpb
go build -o .bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
go build -o .bin/protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc
(cd ../tool && go build -o ../benchmark/.bin/protoc-gen-skiff ./cmd/protoc-gen-skiff)
trap 'rm -rf .bin' EXIT
protoc -I idl \
	--plugin=protoc-gen-go=.bin/protoc-gen-go \
	--plugin=protoc-gen-go-grpc=.bin/protoc-gen-go-grpc \
	--plugin=protoc-gen-skiff=.bin/protoc-gen-skiff \
	--go_out=grpcpb --go_opt=paths=source_relative --go_opt=Mecho.proto=github.com/skiffrpc/skiff/benchmark/grpcpb\;grpcpb \
	--go-grpc_out=grpcpb --go-grpc_opt=paths=source_relative --go-grpc_opt=Mecho.proto=github.com/skiffrpc/skiff/benchmark/grpcpb\;grpcpb \
	--skiff_out=grpcpb --skiff_opt=paths=source_relative,grpc_compat=true --skiff_opt=Mecho.proto=github.com/skiffrpc/skiff/benchmark/grpcpb\;grpcpb \
	echo.proto
# cmd/bench builds one binary per framework family (build tags nogrpc,
# noskiff, nokitex): grpcpb's grpc-go and Skiff halves carry those tags, so
# that the Skiff binary does not link grpc-go, nor the grpc-go one Skiff.
sed -i '1i //go:build !nogrpc\n' grpcpb/echo_grpc.pb.go
sed -i '1i //go:build !noskiff\n' grpcpb/echo_skiff.pb.go
gofmt -l kitex_gen grpcpb | xargs -r gofmt -w
