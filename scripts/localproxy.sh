#!/usr/bin/env bash
# localproxy.sh DIR [REV] [FLAGS] writes a Go module proxy tree of this
# repository's released modules into DIR and prints the version it holds;
# use it with GOPROXY=file://DIR. By default the version is the release
# version core/doc.go names (core.Version): each module comes from its tag
# (core/v0.2.0, ...) when the tag exists, else from REV (default HEAD) as a
# preview of that unreleased version. With -pseudo REV is published as a
# pseudo-version instead. See scripts/localproxy/main.go.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: localproxy.sh DIR [REV] [-version vX.Y.Z | -pseudo]}"
rev="${2:-HEAD}"
shift $(( $# >= 2 ? 2 : 1 ))
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
GOWORK=off GO111MODULE=off go run scripts/localproxy/main.go -repo "$root" -out "$out" -rev "$rev" "$@"
