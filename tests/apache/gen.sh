#!/usr/bin/env bash
# Regenerates gen-go/ from echo.thrift with Debian's thrift-compiler 0.17.0
# (apt-get install thrift-compiler). CI runs it and then
# `git diff --exit-code -- tests/apache/gen-go` to prove the committed code is
# exactly what the compiler produces. The output is gofmt-ed so the module
# passes `gofmt -l`; the *-remote command the compiler also writes is dropped.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

want="Thrift version 0.17.0"
have="$(thrift --version)"
if [[ "$have" != "$want" ]]; then
	echo "gen.sh: need '$want' (Debian thrift-compiler), found '$have'" >&2
	exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

thrift --gen go:package_prefix=github.com/skiffrpc/skiff/tests/apache/gen-go/ -out "$tmp" echo.thrift
rm -rf "$tmp"/echo/*-remote
gofmt -w "$tmp"

rm -rf gen-go
mkdir -p gen-go
cp -R "$tmp"/echo gen-go/echo
