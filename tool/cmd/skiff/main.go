package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffrpc/skiff/tool/protogen"
	"github.com/skiffrpc/skiff/tool/thriftgen"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// file is one output file.
type file struct {
	path    string
	content []byte
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "new" {
		return runNew(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("skiff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", ".", "output directory")
	module := fs.String("module", "", "Go import path of the output directory (default: found from the go.mod above it)")
	var incs multiFlag
	fs.Var(&incs, "I", "directory to search for includes and imports (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: skiff [-out dir] [-module path] [-I dir]... file.thrift|file.proto...")
		fmt.Fprintln(stderr, "       skiff new [-out dir] [-module path] [-I dir]... [-skiff-replace dir] file")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	mod := *module
	if mod == "" {
		mod = findModule(*out)
	}
	files, err := generate(fs.Args(), incs, mod)
	if err != nil {
		fmt.Fprintln(stderr, "skiff:", err)
		return 1
	}
	n, err := writeAll(*out, files)
	if err != nil {
		fmt.Fprintln(stderr, "skiff:", err)
		return 1
	}
	fmt.Fprintf(stdout, "skiff: %d files generated in %s (%d written)\n", len(files), *out, n)
	return 0
}

// generate dispatches on the extension of the IDL files.
func generate(idls, incs []string, module string) ([]file, error) {
	var thrift, proto []string
	for _, f := range idls {
		switch filepath.Ext(f) {
		case ".thrift":
			thrift = append(thrift, f)
		case ".proto":
			proto = append(proto, f)
		default:
			return nil, fmt.Errorf("%s: not a .thrift or .proto file", f)
		}
	}
	var out []file
	if len(thrift) > 0 {
		fs, err := thriftgen.Generate(thriftgen.Options{Files: thrift, ImportPaths: incs, Module: module})
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, file{f.Path, f.Content})
		}
	}
	if len(proto) > 0 {
		fs, err := protogen.Generate(protogen.Options{Files: proto, ImportPaths: incs, Module: module})
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, file{f.Path, f.Content})
		}
	}
	return out, nil
}

func runNew(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("skiff new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", ".", "directory of the new module")
	module := fs.String("module", "", "Go module path of the new module (default: the IDL's base name)")
	replace := fs.String("skiff-replace", "", "directory of a Skiff checkout; go.mod replaces the Skiff modules with it")
	var incs multiFlag
	fs.Var(&incs, "I", "directory to search for includes and imports (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: skiff new [-out dir] [-module path] [-I dir]... [-skiff-replace dir] file.thrift|file.proto")
		return 2
	}
	idl := fs.Arg(0)
	mod := *module
	if mod == "" {
		base := filepath.Base(idl)
		mod = strings.TrimSuffix(base, filepath.Ext(base))
	}
	rep := *replace
	if rep != "" {
		abs, err := filepath.Abs(rep)
		if err != nil {
			fmt.Fprintln(stderr, "skiff:", err)
			return 1
		}
		rep = abs
	}
	var files []file
	switch filepath.Ext(idl) {
	case ".thrift":
		fs, err := thriftgen.Scaffold(thriftgen.ScaffoldOptions{IDL: idl, ImportPaths: incs, Module: mod, SkiffReplace: rep})
		if err != nil {
			fmt.Fprintln(stderr, "skiff:", err)
			return 1
		}
		for _, f := range fs {
			files = append(files, file{f.Path, f.Content})
		}
	case ".proto":
		fs, err := protogen.Scaffold(protogen.ScaffoldOptions{IDL: idl, ImportPaths: incs, Module: mod, SkiffReplace: rep})
		if err != nil {
			fmt.Fprintln(stderr, "skiff:", err)
			return 1
		}
		for _, f := range fs {
			files = append(files, file{f.Path, f.Content})
		}
	default:
		fmt.Fprintf(stderr, "skiff: %s: not a .thrift or .proto file\n", idl)
		return 1
	}
	// Files the user owns (everything but gen/) are never overwritten: a
	// second skiff new only refreshes the generated code.
	var keep []file
	for _, f := range files {
		if !strings.HasPrefix(f.path, "gen/") {
			if _, err := os.Stat(filepath.Join(*out, filepath.FromSlash(f.path))); err == nil {
				fmt.Fprintf(stderr, "skiff: %s exists, left alone\n", f.path)
				continue
			}
		}
		keep = append(keep, f)
	}
	n, err := writeAll(*out, keep)
	if err != nil {
		fmt.Fprintln(stderr, "skiff:", err)
		return 1
	}
	fmt.Fprintf(stdout, "skiff: module %s scaffolded in %s (%d files written); next: cd %s && ./build.sh\n", mod, *out, n, *out)
	return 0
}

// findModule returns the import path of dir from the nearest go.mod at or
// above it, or "".
func findModule(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := abs; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				l = strings.TrimSpace(l)
				if m, ok := strings.CutPrefix(l, "module "); ok {
					m = strings.Trim(strings.TrimSpace(m), `"`)
					rel, err := filepath.Rel(d, abs)
					if err != nil || rel == "." {
						return m
					}
					return m + "/" + filepath.ToSlash(rel)
				}
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// writeAll writes files under dir. Every file is first written to a
// temporary file next to its target, then all are renamed into place; a
// file whose content is unchanged is left alone. It returns the number of
// files written.
func writeAll(dir string, files []file) (int, error) {
	type pending struct{ tmp, dst string }
	var todo []pending
	cleanup := func() {
		for _, p := range todo {
			os.Remove(p.tmp)
		}
	}
	for _, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(f.path))
		if old, err := os.ReadFile(dst); err == nil && string(old) == string(f.content) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			cleanup()
			return 0, err
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".skiff-*")
		if err != nil {
			cleanup()
			return 0, err
		}
		_, werr := tmp.Write(f.content)
		cerr := tmp.Close()
		todo = append(todo, pending{tmp.Name(), dst})
		if err := errors.Join(werr, cerr); err != nil {
			cleanup()
			return 0, err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(f.path, ".sh") {
			mode = 0o755
		}
		if err := os.Chmod(tmp.Name(), mode); err != nil {
			cleanup()
			return 0, err
		}
	}
	for i, p := range todo {
		if err := os.Rename(p.tmp, p.dst); err != nil {
			for _, q := range todo[i:] {
				os.Remove(q.tmp)
			}
			return i, err
		}
	}
	return len(todo), nil
}
