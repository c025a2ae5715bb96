#!/usr/bin/env bash
# release.sh bumps, tags and verifies a release of Skiff's modules. Every
# released module (each go.work directory but examples, tests and
# benchmark) moves together to one version (docs/versioning.md says why).
#
#   bash scripts/release.sh bump v0.3.0    # set the version everywhere (no commit)
#   bash scripts/release.sh tag v0.3.0     # bump, commit "Release v0.3.0", tag <dir>/v0.3.0, verify
#   bash scripts/release.sh verify [v0.3.0] # build every module through a local proxy
#
# bump rewrites every requirement between Skiff modules in every go.mod
# (the local replace directives stay, so each go.mod still builds alone
# with GOWORK=off in the checkout; a consumer ignores them and gets the
# version), core.Version (core/doc.go), protoc-gen-skiff's Version and the
# version skiff's scaffolds require.
#
# tag needs a clean working tree. It creates annotated tags in Go's
# multi-module form (core/v0.3.0, codec-thrift/v0.3.0, ...) on the release
# commit, verifies, and deletes the tags again if verification fails. It
# never pushes: it prints the git push command to run.
#
# verify publishes the version through scripts/localproxy (from the tags
# when they exist, else the current commit as a preview) into a temporary
# GOPROXY tree, then, in an empty module outside the workspace (GOWORK=off,
# no replace directive, an empty module cache), go gets each released
# module at the version and builds all of its packages. Third-party
# modules come from the local module cache's download directory first,
# then from `go env GOPROXY`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

released() {
  go work edit -json | grep '"DiskPath"' | cut -d'"' -f4 | sed 's#^\./##' | grep -vx 'examples\|tests\|benchmark'
}

current() { sed -n 's/^const Version = "\(v[^"]*\)"/\1/p' core/doc.go; }

check_version() {
  [[ "$1" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "release.sh: $1 is not vMAJOR.MINOR.PATCH" >&2; exit 2; }
}

bump() {
  local v=$1
  local mods
  mods=$(go work edit -json | grep '"DiskPath"' | cut -d'"' -f4)
  for m in $mods; do
    perl -pi -e 's#^(\s*(?:require\s+)?github\.com/skiffrpc/skiff/[\w.-]+)\s+v\S+(\s*(?://.*)?)$#$1 '"$v"'$2#' "$m/go.mod"
  done
  perl -pi -e 's#^(\s*(?:require\s+)?github\.com/skiffrpc/skiff/core)\s+v\S+#$1 '"$v"'#' tests/thirdparty/testdata/ext/go.mod.txt
  perl -pi -e 's#^const Version = "v[^"]*"#const Version = "'"$v"'"#' core/doc.go tool/protogen/plugin.go
  perl -pi -e 's#^const SkiffVersion = "v[^"]*"#const SkiffVersion = "'"$v"'"#' tool/thriftgen/scaffold.go tool/protogen/scaffold.go
  echo "release.sh: version $v in every go.mod, core/doc.go, tool/protogen and tool/thriftgen"
}

verify() {
  local v=$1
  local tmp
  tmp=$(mktemp -d)
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' RETURN
  local got
  got=$(bash scripts/localproxy.sh "$tmp/proxy" HEAD -version "$v")
  [ "$got" = "$v" ] || { echo "release.sh: localproxy published $got, want $v" >&2; return 1; }
  local upstream download
  upstream=$(go env GOPROXY)
  download="$(go env GOMODCACHE)/cache/download"
  local mods
  mods=$(released)
  [ -n "$mods" ] || { echo "release.sh: no released modules in go.work" >&2; return 1; }
  mkdir -p "$tmp/app"
  (
    cd "$tmp/app"
    export GOWORK=off GOFLAGS="-mod=mod -modcacherw -trimpath" GOSUMDB=off GOTOOLCHAIN=local \
      GOMODCACHE="$tmp/modcache" GOPROXY="file://$tmp/proxy,file://$download,$upstream"
    # Every step says its own failure: set -e does not hold in a
    # subshell of a function called from an if (tag's verify).
    go mod init example.com/releasecheck >/dev/null 2>&1 || exit 1
    for m in $mods; do
      echo "=== github.com/skiffrpc/skiff/$m@$v"
      out=$(go get "github.com/skiffrpc/skiff/$m@$v" 2>&1) || { echo "$out" >&2; exit 1; }
      echo "$out" | grep -v '^go: \(added\|upgraded\|downloading\|finding\)' || true
      go build "github.com/skiffrpc/skiff/$m/..." || exit 1
    done
    if grep -q '^replace' go.mod; then echo "release.sh: the check module has a replace directive" >&2; exit 1; fi
  ) || return 1
  echo "release.sh: every released module at $v builds through the module proxy protocol, without replace"
}

cmd=${1:-}
case "$cmd" in
  bump)
    [ $# -eq 2 ] || usage
    check_version "$2"
    bump "$2"
    ;;
  verify)
    [ $# -le 2 ] || usage
    v=${2:-$(current)}
    check_version "$v"
    verify "$v"
    ;;
  tag)
    [ $# -eq 2 ] || usage
    v=$2
    check_version "$v"
    if [ -n "$(git status --porcelain)" ]; then echo "release.sh: the working tree is not clean" >&2; exit 1; fi
    for m in $(released); do
      if git rev-parse -q --verify "refs/tags/$m/$v" >/dev/null; then echo "release.sh: tag $m/$v exists" >&2; exit 1; fi
    done
    if [ -f CHANGELOG.md ] && ! grep -q "^## .*${v//./\\.}" CHANGELOG.md; then
      echo "release.sh: warning: CHANGELOG.md has no heading for $v" >&2
    fi
    bump "$v"
    if [ -n "$(git status --porcelain)" ]; then
      git commit -q -am "Release $v"
      echo "release.sh: committed Release $v"
    fi
    tags=()
    for m in $(released); do
      git tag -a -m "$m $v" "$m/$v"
      tags+=("$m/$v")
    done
    echo "release.sh: tagged ${tags[*]}"
    if ! verify "$v"; then
      git tag -d "${tags[@]}" >/dev/null
      echo "release.sh: verification failed; tags deleted (the release commit stays)" >&2
      exit 1
    fi
    echo "release.sh: to publish: git push origin HEAD ${tags[*]}"
    ;;
  *) usage ;;
esac
