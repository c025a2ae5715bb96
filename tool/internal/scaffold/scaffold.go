// Package scaffold holds what the Thrift and protobuf scaffolds of skiff new
// share: the layout, and the README, scripts and .gitignore, so that both
// kinds of scaffold look the same.
package scaffold

import (
	"fmt"
	"path"
	"strings"
)

// File is one scaffolded file.
type File struct {
	// Path is relative to the module root, with forward slashes.
	Path string
	// Content is the file's bytes.
	Content []byte
	// Executable marks scripts.
	Executable bool
}

// Layout lists the paths every scaffold has besides gen/ and idl/.
var Layout = []string{".gitignore", "README.md", "build.sh", "cmd/client/main.go", "cmd/server/main.go", "go.mod", "handler.go", "run.sh"}

// PackageName returns the Go package name of a scaffold's root package
// (handler.go): the last element of the module path as an identifier.
func PackageName(module string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(path.Base(module)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9' && b.Len() > 0:
			b.WriteRune(r)
		case r == '-', r == '.', r == '_':
			// dropped, as in most Go package names
		}
	}
	if b.Len() == 0 {
		return "service"
	}
	return b.String()
}

// Info describes a scaffold for its README.
type Info struct {
	// Module is the module path.
	Module string
	// What names the service, e.g. "Thrift service EchoService".
	What string
	// IDL is the IDL's path as the regenerate command names it.
	IDL string
	// Regen is the command that regenerates gen/.
	Regen string
	// Note is an extra README paragraph (what the server speaks).
	Note string
}

// BinName is the name of the server binary build.sh writes to output/bin;
// the client is BinName + "-client".
func BinName(module string) string { return path.Base(module) }

// Files returns README.md, build.sh, run.sh and .gitignore.
func Files(i Info) []File {
	bin := BinName(i.Module)
	readme := fmt.Sprintf(`# %s

A Skiff service for the %s, scaffolded by `+"`skiff new`"+` from `+"`%s`"+`.
%s

- `+"`handler.go`"+`: your implementation (type `+"`Handler`"+`, package `+"`%s`"+`); each method is a
  stub that returns an empty result.
- `+"`cmd/server`"+`: the server (flag `+"`-addr`"+`, default `+"`:8888`"+`).
- `+"`cmd/client`"+`: a client that calls each method once (unary ones, for protobuf) and exits 1 if
  a call fails.
- `+"`idl/`"+`: the IDL.
- `+"`gen/`"+`: generated code; do not edit. After changing the IDL, regenerate it (this leaves
  every file outside `+"`gen/`"+` alone) with:

      %s

Build and run:

    ./build.sh                                   # go mod tidy, then output/bin/%s and output/bin/%s-client
    ./run.sh                                     # starts the server on :8888 (-addr to change)
    output/bin/%s-client -addr 127.0.0.1:8888    # in another terminal
`, bin, i.What, i.IDL, i.Note, PackageName(i.Module), i.Regen, bin, bin, bin)
	build := `#!/bin/sh
# build.sh resolves dependencies and builds the server and the client into output/bin.
set -e
cd "$(dirname "$0")"
go mod tidy
mkdir -p output/bin
go build -o output/bin/` + bin + ` ./cmd/server
go build -o output/bin/` + bin + `-client ./cmd/client
`
	run := `#!/bin/sh
# run.sh starts the server built by build.sh (building it first if needed);
# arguments go to the server (-addr host:port).
set -e
cd "$(dirname "$0")"
[ -x output/bin/` + bin + ` ] || ./build.sh
exec output/bin/` + bin + ` "$@"
`
	return []File{
		{Path: ".gitignore", Content: []byte("/output/\n")},
		{Path: "README.md", Content: []byte(readme)},
		{Path: "build.sh", Content: []byte(build), Executable: true},
		{Path: "run.sh", Content: []byte(run), Executable: true},
	}
}
