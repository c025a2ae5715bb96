#!/usr/bin/env bash
# gen.sh regenerates greeterpb/ from greeter.proto with the skiff command of
# this checkout (no protoc needed).
set -euo pipefail
cd "$(dirname "$0")"
(cd ../../tool && GOWORK=off go build -o ../examples/greeter/.skiff ./cmd/skiff)
trap 'rm -f .skiff' EXIT
./.skiff -out .. -module github.com/skiffrpc/skiff/examples greeter.proto
