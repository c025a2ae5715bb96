#!/usr/bin/env bash
# gen.sh regenerates the code committed in this directory from idl/ThriftTest.thrift:
#   apache/thrifttest  Apache Thrift's Go code, by Debian's thrift-compiler (0.17)
#                      (apt-get install -y thrift-compiler)
#   gen/thrifttest     Skiff's code, by the skiff command in ../../tool
#   gen/echo           Skiff's code for ../../examples/echo/echo.thrift (compared with the
#                      hand-written code of examples/echo)
# TestGeneratedUpToDate fails when gen/ differs from what the skiff command
# writes now.
set -euo pipefail
cd "$(dirname "$0")"
export GOWORK=off

rm -rf apache
mkdir -p apache
thrift -r --gen go:package_prefix=github.com/skiffrpc/skiff/tests/thrifttest/apache/ -out apache idl/ThriftTest.thrift
rm -rf apache/thrifttest/*-remote
gofmt -w apache

rm -rf gen
(cd ../../tool && go run ./cmd/skiff -out ../tests/thrifttest/gen \
	-module github.com/skiffrpc/skiff/tests/thrifttest/gen ../tests/thrifttest/idl/ThriftTest.thrift \
	../examples/echo/echo.thrift)
