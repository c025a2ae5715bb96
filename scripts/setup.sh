#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Go:
# Debian's thrift-compiler (to prove the committed Apache Thrift peer code
# is what it generates). Idempotent; safe to run again.
set -euo pipefail

need_apt=()
command -v thrift >/dev/null 2>&1 || need_apt+=(thrift-compiler)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
go version
thrift --version
