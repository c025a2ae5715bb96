#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Go:
# Debian's thrift-compiler (to prove the committed Apache Thrift peer code
# is what it generates, and to build the ThriftTest peers) and
# protobuf-compiler (protoc: golden tests of the protoc-free generator and
# the protoc-gen-skiff plugin); and the Consul agent the registry-consul
# tests run (scripts/consul.sh builds it from the Go module proxy, once).
# Idempotent; safe to run again.
set -euo pipefail

need_apt=()
command -v thrift >/dev/null 2>&1 || need_apt+=(thrift-compiler)
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
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
