#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Go:
# Debian's thrift-compiler (to prove the committed Apache Thrift peer code
# is what it generates, and to build the ThriftTest peers) and
# protobuf-compiler (protoc: golden tests of the protoc-free generator and
# the protoc-gen-skiff plugin); a C compiler when there is none (go test
# -race needs cgo, and the go command turns cgo off when it finds no C
# compiler); and the Consul agent the registry-consul tests run
# (scripts/consul.sh builds it from the Go module proxy, once).
# Idempotent; safe to run again.
set -euo pipefail

need_apt=()
command -v thrift >/dev/null 2>&1 || need_apt+=(thrift-compiler)
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
cc="$(go env CC)"
command -v "${cc:-gcc}" >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
go version
thrift --version
protoc --version
consul=$(bash "$(dirname "$0")/consul.sh")
"$consul" version
if ! command -v "$(go env CC)" >/dev/null 2>&1; then
  echo "setup.sh: no C compiler ($(go env CC)) after installing gcc, so go test -race cannot run" >&2
  exit 1
fi
"$(go env CC)" --version | head -1
if [ "$(go env CGO_ENABLED)" != 1 ]; then
  echo "setup.sh: cgo is off (CGO_ENABLED=$(go env CGO_ENABLED)), so go test -race cannot run" >&2
  exit 1
fi
