#!/usr/bin/env bash
# gen.sh regenerates kitex_gen from ../idl/all.thrift with Kitex v0.15.2 (the tool line of
# ../../go.mod).
set -euo pipefail
cd "$(dirname "$0")"
export GOWORK=off
rm -rf kitex_gen
go tool -modfile=../../go.mod kitex -module github.com/skiffrpc/skiff/tests -gen-path kitex_gen ../idl/all.thrift
