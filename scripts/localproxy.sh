#!/usr/bin/env bash
# localproxy.sh DIR [REV] writes a Go module proxy tree of this repository's
# modules at REV (default HEAD) into DIR and prints the pseudo-version; use
# it with GOPROXY=file://DIR (see scripts/localproxy/main.go).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: localproxy.sh DIR [REV]}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
GOWORK=off GO111MODULE=off go run scripts/localproxy/main.go -repo "$root" -out "$out" -rev "${2:-HEAD}"
