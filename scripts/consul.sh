#!/usr/bin/env bash
# Builds the Consul agent that the registry-consul tests run against, from
# the Go module proxy, and prints the binary's path. Consul v1.14.11 is the
# last release under MPL-2.0 (later ones are under the BSL), and Debian does
# not package it. The build is cached: it runs only when the binary is
# absent (about 4 minutes on a 2-core machine the first time).
#
#   SKIFF_CONSUL_CACHE  directory for the binary
#                       (default $HOME/.cache/skiff/consul-1.14.11)
set -euo pipefail

version=v1.14.11
cache="${SKIFF_CONSUL_CACHE:-$HOME/.cache/skiff/consul-${version#v}}"
bin="$cache/consul"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

# Fetch the module source through the ordinary go client (GOPROXY).
dir=$(cd "$work" && GOFLAGS=-mod=mod GOWORK=off go mod download -json "github.com/hashicorp/consul@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  echo "consul.sh: could not download github.com/hashicorp/consul@$version" >&2
  exit 1
fi
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
# The release's go.mod points api, sdk and proto-public at its own
# sub-directories, which a module zip does not carry; use the published
# modules it requires instead.
sed -i -e '/=> \.\/api/d' -e '/=> \.\/sdk/d' -e '/=> \.\/proto-public/d' go.mod
GOWORK=off GOFLAGS=-buildvcs=false go build -mod=mod -o "$work/consul" . >&2
mv "$work/consul" "$bin"
echo "$bin"
