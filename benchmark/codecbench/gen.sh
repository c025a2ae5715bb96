#!/usr/bin/env bash
# gen.sh regenerates the three generated codes of the codec benchmark from
# idl/bench.thrift: skiff/ (the skiff command of ../../tool), kitex_gen/ (Kitex
# v0.15.2, the tool line in ../go.mod) and apache/ (Debian thrift-compiler 0.17:
# apt-get install -y thrift-compiler).
set -euo pipefail
cd "$(dirname "$0")"
export GOWORK=off

rm -rf skiff kitex_gen apache
(cd ../../tool && go run ./cmd/skiff -out ../benchmark/codecbench/skiff \
	-module github.com/skiffrpc/skiff/benchmark/codecbench/skiff ../benchmark/codecbench/idl/bench.thrift)
(cd .. && go tool kitex -module github.com/skiffrpc/skiff/benchmark -gen-path codecbench/kitex_gen codecbench/idl/bench.thrift)
mkdir -p apache
thrift -r --gen go:package_prefix=github.com/skiffrpc/skiff/benchmark/codecbench/apache/ -out apache idl/bench.thrift
gofmt -w apache kitex_gen
