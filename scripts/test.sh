#!/usr/bin/env bash
# The whole test suite: for every module in go.work, gofmt must be clean,
# go vet must pass, and go test -race must pass with GOWORK=off (each
# go.mod stands on its own). Fuzz targets run their seed corpora as part of
# go test. Also checks that generated peer code is what its generator
# writes, and that the core compiles for Windows and macOS (std engine).
set -euo pipefail
cd "$(dirname "$0")/.."

# The suite (this script is the README's second command) must leave the
# checkout as it found it: no go.work.sum or go.sum churn, no generated
# file left behind. Compared at the end.
status_before=$(git status --porcelain 2>/dev/null || true)

bash scripts/setup.sh

# The registry-consul tests run this agent; here a missing agent fails
# them instead of skipping them.
SKIFF_CONSUL=$(bash scripts/consul.sh)
export SKIFF_CONSUL SKIFF_REQUIRE_CONSUL=1
fail=0

# The README's first command, in a fresh clone of this commit, must leave
# git status clean (a clean clone once got go.work.sum churn from it).
echo "=== the README's first command leaves a fresh clone's git status clean"
clone=$(mktemp -d)
if git clone -q "$PWD" "$clone/skiff" 2>/dev/null; then
  if ! (cd "$clone/skiff" && go run ./examples/echo/cmd/echo >/dev/null); then
    echo "go run ./examples/echo/cmd/echo failed in a fresh clone"; fail=1
  fi
  churn=$(git -C "$clone/skiff" status --porcelain)
  if [ -n "$churn" ]; then
    echo "go run ./examples/echo/cmd/echo changed a fresh clone:"; echo "$churn"; fail=1
  fi
else
  echo "(not a git checkout: skipped)"
fi
rm -rf "$clone"

modules=$(go work edit -json | grep '"DiskPath"' | cut -d'"' -f4)
for m in $modules; do
  echo "=== $m"
  unformatted=$(cd "$m" && gofmt -l . | grep -v '/testdata/' || true)
  if [ -n "$unformatted" ]; then
    echo "gofmt: these files need formatting:"; echo "$unformatted"; fail=1
  fi
  (cd "$m" && GOWORK=off go vet ./...) || fail=1
  (cd "$m" && GOWORK=off go test -race -count=1 -timeout 15m ./...) || fail=1
done

# Netpoll builds on linux (amd64, arm64, loong64), darwin and freebsd
# (amd64, arm64); elsewhere core builds with the std engine alone.
echo "=== cross-compile core: windows, darwin, linux/386, openbsd"
for target in windows/amd64 darwin/arm64 linux/386 openbsd/amd64; do
  (cd core && GOWORK=off GOOS=${target%/*} GOARCH=${target#*/} go vet ./...) || { echo "core does not build for $target"; fail=1; }
done

if [ -x tests/apache/gen.sh ] || [ -f tests/apache/gen.sh ]; then
  echo "=== generated Apache Thrift peer code is up to date"
  bash tests/apache/gen.sh
  if ! git diff --exit-code -- tests/apache/gen-go || [ -n "$(git status --porcelain -- tests/apache/gen-go)" ]; then
    echo "tests/apache/gen-go differs from thrift-compiler output"; fail=1
  fi
fi

echo "=== generated example code is what the skiff command writes"
bash examples/greeter/gen.sh >/dev/null
if ! git diff --exit-code -- examples/greeter/greeterpb || [ -n "$(git status --porcelain -- examples/greeter/greeterpb)" ]; then
  echo "examples/greeter/greeterpb differs from skiff's output"; fail=1
fi

echo "=== the suite left git status as it found it"
status_after=$(git status --porcelain 2>/dev/null || true)
if [ "$status_before" != "$status_after" ]; then
  echo "git status changed while the suite ran:"
  diff <(echo "$status_before") <(echo "$status_after") || true
  fail=1
fi

if [ $fail -ne 0 ]; then
  echo "FAIL"; exit 1
fi
echo "ALL PASS"
