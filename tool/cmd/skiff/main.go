package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
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

// usage is the full help text: every subcommand and flag.
const usage = `skiff generates Skiff Go code from Thrift and protobuf IDL files, and
scaffolds new service modules.

Usage:
  skiff [flags] file.thrift|file.proto...   generate code
  skiff new [flags] file.thrift|file.proto  scaffold a service module
  skiff version                             print the version
  skiff help                                print this help

Flags of skiff (generate):
  -out dir          output directory (default ".")
  -module path      Go import path of -out (default: found from the go.mod above it)
  -I dir            directory to search for includes and imports (repeatable)
  -M file=path      Go import path of a .proto file, overriding its go_package
                    (repeatable; "path;name" also sets the package name)

Flags of skiff new:
  -out dir            directory of the new module (default ".")
  -module path        Go module path of the new module (default: the IDL's base name)
  -I dir              directory to search for includes and imports (repeatable)
  -skiff-replace dir  a Skiff checkout; go.mod replaces the Skiff modules with it
  -skiff-version v    version of the Skiff modules go.mod requires (default: this
                      skiff's own version when installed with go install ...@v)

Other flags:
  -h, -help, --help   print this help
  -version, --version print the version

Running skiff new again on a scaffold refreshes gen/ and leaves every other
file alone, saying which ones differ from what it would write now.
`

// version returns the version of this skiff binary: the module version
// when it was installed with go install path@version, "(devel)" in a
// checkout.
func version() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return v
}

// defaultSkiffVersion is the version of the Skiff modules a scaffold
// requires: this binary's own module version when it has one (installed
// with go install .../skiff@version), otherwise thriftgen.SkiffVersion.
func defaultSkiffVersion() string {
	if v := version(); strings.HasPrefix(v, "v") {
		return v
	}
	return thriftgen.SkiffVersion
}

func printVersion(stdout io.Writer) {
	fmt.Fprintf(stdout, "skiff %s (%s; scaffolds require Skiff %s)\n", version(), runtime.Version(), defaultSkiffVersion())
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch {
		case args[0] == "new":
			return runNew(args[1:], stdout, stderr)
		case args[0] == "version" || args[0] == "-version" || args[0] == "--version":
			printVersion(stdout)
			return 0
		case isHelp(args[0]):
			fmt.Fprint(stdout, usage)
			return 0
		}
	}
	fs, o := genFlagSet(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintln(stderr, "run skiff help for every subcommand and flag")
		return 2
	}
	out, module, incs, ms, showVersion := o.out, o.module, o.incs, o.ms, o.version
	if *showVersion {
		printVersion(stdout)
		return 0
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	goPkgs, err := parseM(*ms)
	if err != nil {
		fmt.Fprintln(stderr, "skiff:", err)
		return 2
	}
	mod := *module
	if mod == "" {
		mod = findModule(*out)
	}
	files, err := generate(fs.Args(), *incs, mod, goPkgs)
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

// options holds the flags of skiff and skiff new.
type options struct {
	out, module, replace *string
	skiffVersion         *string
	version              *bool
	incs, ms             *multiFlag
}

// genFlagSet returns the flags of skiff (generate). The help text is
// usage, printed by the caller.
func genFlagSet(stderr io.Writer) (*flag.FlagSet, options) {
	fs := flag.NewFlagSet("skiff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	o := options{incs: new(multiFlag), ms: new(multiFlag)}
	o.out = fs.String("out", ".", "output directory")
	o.module = fs.String("module", "", "Go import path of the output directory (default: found from the go.mod above it)")
	fs.Var(o.incs, "I", "directory to search for includes and imports (repeatable)")
	fs.Var(o.ms, "M", "file=importpath: Go import path of a .proto file, overriding its go_package (repeatable)")
	o.version = fs.Bool("version", false, "print the version")
	return fs, o
}

// newFlagSet returns the flags of skiff new.
func newFlagSet(stderr io.Writer) (*flag.FlagSet, options) {
	fs := flag.NewFlagSet("skiff new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	o := options{incs: new(multiFlag)}
	o.out = fs.String("out", ".", "directory of the new module")
	o.module = fs.String("module", "", "Go module path of the new module (default: the IDL's base name)")
	o.replace = fs.String("skiff-replace", "", "directory of a Skiff checkout; go.mod replaces the Skiff modules with it")
	o.skiffVersion = fs.String("skiff-version", defaultSkiffVersion(), "version of the Skiff modules go.mod requires")
	fs.Var(o.incs, "I", "directory to search for includes and imports (repeatable)")
	return fs, o
}

// parseM parses -M file=importpath flags.
func parseM(ms []string) (map[string]string, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, v := range ms {
		file, imp, ok := strings.Cut(v, "=")
		if !ok || file == "" || imp == "" {
			return nil, fmt.Errorf("-M %s: want file.proto=importpath", v)
		}
		m[file] = imp
	}
	return m, nil
}

// generate dispatches on the extension of the IDL files.
func generate(idls, incs []string, module string, goPkgs map[string]string) ([]file, error) {
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
		fs, err := protogen.Generate(protogen.Options{Files: proto, ImportPaths: incs, Module: module, GoPackages: goPkgs})
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
	fs, o := newFlagSet(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintln(stderr, "run skiff help for every subcommand and flag")
		return 2
	}
	out, module, replace, incs := o.out, o.module, o.replace, *o.incs
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: skiff new [-out dir] [-module path] [-I dir]... [-skiff-replace dir] file.thrift|file.proto")
		fmt.Fprintln(stderr, "run skiff help for every flag")
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
		fs, err := thriftgen.Scaffold(thriftgen.ScaffoldOptions{IDL: idl, ImportPaths: incs, Module: mod, SkiffReplace: rep, SkiffVersion: *o.skiffVersion})
		if err != nil {
			fmt.Fprintln(stderr, "skiff:", err)
			return 1
		}
		for _, f := range fs {
			files = append(files, file{f.Path, f.Content})
		}
	case ".proto":
		fs, err := protogen.Scaffold(protogen.ScaffoldOptions{IDL: idl, ImportPaths: incs, Module: mod, SkiffReplace: rep, SkiffVersion: *o.skiffVersion})
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
	// second skiff new only refreshes the generated code, and says which
	// of the user's files differ from what it would write now.
	var keep []file
	var kept []string
	for _, f := range files {
		if !strings.HasPrefix(f.path, "gen/") {
			old, err := os.ReadFile(filepath.Join(*out, filepath.FromSlash(f.path)))
			if err == nil {
				if string(old) != string(f.content) && (f.path != "go.mod" || len(goModMissing(old, f.content)) > 0) {
					kept = append(kept, f.path)
					fmt.Fprintf(stderr, "skiff: %s exists and differs from the scaffold: not changed%s\n", f.path, keptHint(f, old))
				}
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
	fmt.Fprintf(stdout, "skiff: module %s scaffolded in %s (%d files written", mod, *out, n)
	if len(kept) > 0 {
		fmt.Fprintf(stdout, "; %d of your files not changed: %s", len(kept), strings.Join(kept, ", "))
	}
	if filepath.Clean(*out) == "." {
		fmt.Fprintln(stdout, "); next: ./build.sh")
	} else {
		fmt.Fprintf(stdout, "); next: cd %s && ./build.sh\n", *out)
	}
	return 0
}

// keptHint explains, for a user file skiff new did not overwrite, how to
// get what it would write now. For go.mod it gives the go mod edit commands
// that add what the new one has and the old one lacks.
func keptHint(f file, old []byte) string {
	if f.path != "go.mod" {
		return " (delete it and run skiff new again to get the scaffold's version)"
	}
	return "; to apply the scaffold's requirements run:\n\t" + strings.Join(goModMissing(old, f.content), "\n\t")
}

// goModMissing returns go mod edit commands for the require and replace
// directives of the scaffold's go.mod (next) that the user's (old) lacks: a
// required module path missing from old, or a replace of a different
// target. A go.mod that go mod tidy grew (indirect requires, other
// versions) lacks nothing.
func goModMissing(old, next []byte) []string {
	type directive struct{ verb, path, rest string }
	parse := func(b []byte) []directive {
		var ds []directive
		block := ""
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if i := strings.Index(l, "//"); i >= 0 {
				l = strings.TrimSpace(l[:i])
			}
			switch {
			case l == ")":
				block = ""
				continue
			case strings.HasSuffix(l, "("):
				block = strings.TrimSpace(strings.TrimSuffix(l, "("))
				continue
			}
			verb := block
			if verb == "" {
				v, rest, ok := strings.Cut(l, " ")
				if !ok {
					continue
				}
				verb, l = v, strings.TrimSpace(rest)
			}
			fs := strings.Fields(l)
			if (verb == "require" || verb == "replace") && len(fs) >= 2 {
				ds = append(ds, directive{verb, fs[0], strings.Join(fs[1:], " ")})
			}
		}
		return ds
	}
	have := map[string]string{}
	for _, d := range parse(old) {
		have[d.verb+" "+d.path] = d.rest
	}
	var cmds []string
	for _, d := range parse(next) {
		got, ok := have[d.verb+" "+d.path]
		switch {
		case d.verb == "require" && !ok:
			cmds = append(cmds, "go mod edit -require "+d.path+"@"+d.rest)
		case d.verb == "replace" && got != d.rest:
			cmds = append(cmds, "go mod edit -replace "+d.path+"="+strings.TrimSpace(strings.TrimPrefix(d.rest, "=>")))
		}
	}
	return cmds
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
