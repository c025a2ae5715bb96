package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/tool/internal/scaffold"
)

// corpus is the generator's IDL corpus (see ../../thriftgen/testdata).
const corpus = "../../thriftgen/testdata/idl"

// repoRoot returns the Skiff checkout this test runs in, or skips.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"core/go.mod", "codec-thrift/go.mod"} {
		if _, err := os.Stat(filepath.Join(root, m)); err != nil {
			t.Skipf("not in a Skiff checkout: %v", err)
		}
	}
	return root
}

func skiff(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

// seedGoSum gives a module whose Skiff modules are replaced by the checkout
// the go.sum lines the checkout already has, so that `go mod tidy` fetches
// little (on a fresh machine it still reads go.mod files from the proxy).
func seedGoSum(t *testing.T, root, dir string) {
	t.Helper()
	var sum []byte
	for _, m := range []string{"core", "codec-thrift", "codec-protobuf", "transport-ttheader", "codec-grpc", "transport-http2"} {
		b, err := os.ReadFile(filepath.Join(root, m, "go.sum"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // a module without dependencies but core
		}
		if err != nil {
			t.Fatal(err)
		}
		sum = append(sum, b...)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}

// goCmd runs the go command in dir, outside any workspace, with a bounded
// time.
func goCmd(t *testing.T, dir string, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestGeneratedCodeCompilesAndRuns generates the IDL corpus into a fresh
// module with skiff -module, then builds and runs a program that uses every
// kind of generated code (testdata/corpus_main.go.txt), including a server
// and a client talking over loopback.
func TestGeneratedCodeCompilesAndRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	gomod := "module example.com/corpus\n\ngo 1.26.0\n\nrequire (\n" +
		"\tgithub.com/apache/thrift v0.22.0\n\tgithub.com/skiffrpc/skiff/codec-thrift v0.0.0\n\tgithub.com/skiffrpc/skiff/core v0.0.0\n)\n\n" +
		"replace (\n\tgithub.com/skiffrpc/skiff/codec-thrift => " + filepath.Join(root, "codec-thrift") +
		"\n\tgithub.com/skiffrpc/skiff/core => " + filepath.Join(root, "core") + "\n)\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	seedGoSum(t, root, dir)
	main, err := os.ReadFile("testdata/corpus_main.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), main, 0o644); err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(dir, "gen")
	if err := os.MkdirAll(gen, 0o755); err != nil {
		t.Fatal(err)
	}
	// -module is found from the go.mod above -out.
	for _, idl := range []string{"everything.thrift", "noservice.thrift", "echo.thrift"} {
		if _, e, code := skiff(t, "-out", gen, "-I", filepath.Join(corpus, "inc"), filepath.Join(corpus, idl)); code != 0 {
			t.Fatalf("skiff %s: %s", idl, e)
		}
	}
	goCmd(t, dir, 5*time.Minute, "mod", "tidy")
	goCmd(t, dir, 5*time.Minute, "vet", "./...")
	if out := goCmd(t, dir, 5*time.Minute, "run", "."); strings.TrimSpace(out) != "ok" {
		t.Fatalf("program output:\n%s", out)
	}
}

// TestIdempotent runs skiff twice: the second run writes nothing and the
// files are unchanged.
func TestIdempotent(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-out", dir, "-module", "example.com/x", "-I", filepath.Join(corpus, "inc"), filepath.Join(corpus, "everything.thrift")}
	o, e, code := skiff(t, args...)
	if code != 0 || !strings.Contains(o, "(3 written)") {
		t.Fatalf("first run: %d %s %s", code, o, e)
	}
	before := snapshot(t, dir)
	o, e, code = skiff(t, args...)
	if code != 0 || !strings.Contains(o, "(0 written)") {
		t.Fatalf("second run: %d %s %s", code, o, e)
	}
	after := snapshot(t, dir)
	if len(before) != 3 || len(before) != len(after) {
		t.Fatalf("files: %v then %v", keys(before), keys(after))
	}
	for p, b := range before {
		if after[p] != b {
			t.Errorf("%s changed", p)
		}
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestMalformedIDL feeds broken IDLs to skiff: each fails with an error
// naming file:line:column, and nothing is written, not even the files of
// other, valid IDLs on the same command line.
func TestMalformedIDL(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"syntax", "struct S {\n  1: i32 a\n  2: list<i32 b\n}\n", `bad.thrift:3:\d+: syntax error`},
		{"unknown type", "struct S {\n  1: i32 a\n  2: strin b\n}\n", `bad.thrift:3:6: .*undefined type: "strin"`},
		{"missing include", "include \"nope.thrift\"\nstruct S {}\n", `bad.thrift:1:9: include "nope.thrift" not found`},
		{"unterminated", "service S {\n  void f(\n", `bad.thrift:\d+:\d+: syntax error`},
		{"oneway returns", "service S {\n  oneway i32 f()\n}\n", `bad.thrift:2:14: oneway S.f must be void`},
		{"map key", "struct S {\n  1: map<list<i32>, i32> m\n}\n", `bad.thrift:2:6: map key type list`},
		{"bad default", "struct S {\n  1: i32 a = \"x\"\n}\n", `bad.thrift:2:10: default of S.a`},
		{"duplicate", "struct S {}\nstruct S {}\n", `bad.thrift:1:8: .*multiple definition`},
		{"throws a struct", "struct S {}\nservice X {\n  void f() throws (1: S s)\n}\n", `bad.thrift:3:\d+: X.f throws S, which is not an exception`},
		{"throws a union", "union U {\n  1: i32 a\n}\nservice X {\n  void f() throws (1: U u)\n}\n", `bad.thrift:5:\d+: X.f throws U, which is not an exception`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := t.TempDir()
			bad := filepath.Join(in, "bad.thrift")
			if err := os.WriteFile(bad, []byte(c.src), 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			keep := filepath.Join(out, "keep.txt")
			if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, e, code := skiff(t, "-out", out, "-module", "example.com/x", filepath.Join(corpus, "echo.thrift"), bad)
			if code == 0 {
				t.Fatal("skiff accepted a malformed IDL")
			}
			if !regexp.MustCompile(c.want).MatchString(e) {
				t.Errorf("error %q does not match %q", e, c.want)
			}
			if files := snapshot(t, out); len(files) != 1 || files[keep] != "mine" {
				t.Errorf("output directory changed: %v", keys(files))
			}
		})
	}
}

// TestUsage checks the command line errors.
func TestUsage(t *testing.T) {
	if _, _, code := skiff(t); code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
	if _, e, code := skiff(t, "-out", t.TempDir(), "x.idl"); code != 1 || !strings.Contains(e, "not a .thrift or .proto file") {
		t.Errorf("x.idl: exit %d, %s", code, e)
	}
	if _, _, code := skiff(t, "new"); code != 2 {
		t.Errorf("new without IDL: exit %d, want 2", code)
	}
}

// TestHelpAndVersion: every spelling of help exits 0 and prints the usage on
// stdout; the usage names every subcommand and every flag of both flag
// sets; version and --version print the version.
func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}, {"new", "-h"}, {"new", "--help"}, {"-out", "x", "-h"}} {
		o, e, code := skiff(t, args...)
		if code != 0 || o != usage || e != "" {
			t.Errorf("skiff %v: exit %d, stdout %d bytes, stderr %q", args, code, len(o), e)
		}
	}
	for _, sub := range []string{"skiff new ", "skiff version", "skiff help"} {
		if !strings.Contains(usage, sub) {
			t.Errorf("usage lacks %q", sub)
		}
	}
	gfs, _ := genFlagSet(io.Discard)
	nfs, _ := newFlagSet(io.Discard)
	n := 0
	for _, fs := range []*flag.FlagSet{gfs, nfs} {
		fs.VisitAll(func(f *flag.Flag) {
			n++
			if !regexp.MustCompile(`(?m)^\s+(-h, -help, --help\s+)?-` + regexp.QuoteMeta(f.Name) + `[ ,]`).MatchString(usage) {
				t.Errorf("usage lacks flag -%s of %s", f.Name, fs.Name())
			}
		})
	}
	if n < 8 {
		t.Errorf("only %d flags visited", n)
	}
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		o, e, code := skiff(t, args...)
		if code != 0 || !strings.HasPrefix(o, "skiff ") || !strings.Contains(o, version()) || e != "" {
			t.Errorf("skiff %v: exit %d, %q %q", args, code, o, e)
		}
	}
	if _, e, code := skiff(t, "-nosuchflag"); code != 2 || !strings.Contains(e, "skiff help") {
		t.Errorf("bad flag: exit %d, %q", code, e)
	}
	if _, e, code := skiff(t, "-M", "nonsense", "x.proto"); code != 2 || !strings.Contains(e, "want file.proto=importpath") {
		t.Errorf("bad -M: exit %d, %q", code, e)
	}
}

// TestNewAgainSaysWhatItKept: a second skiff new, here with -skiff-replace
// where the first had none, leaves the user's files alone and says which
// differ, with the go mod edit commands that would apply the new replace
// lines; files that match are not mentioned.
func TestNewAgainSaysWhatItKept(t *testing.T) {
	for _, idl := range []string{filepath.Join(corpus, "echo.thrift"), "../../protogen/testdata/run/echo.proto"} {
		t.Run(filepath.Ext(idl), func(t *testing.T) {
			dir := t.TempDir()
			if o, e, code := skiff(t, "new", "-out", dir, "-module", "example.com/svc", idl); code != 0 {
				t.Fatalf("skiff new: %s %s", o, e)
			}
			before := snapshot(t, dir)
			rep := t.TempDir()
			o, e, code := skiff(t, "new", "-out", dir, "-module", "example.com/svc", "-skiff-replace", rep, idl)
			if code != 0 {
				t.Fatalf("second skiff new: %s %s", o, e)
			}
			if !strings.Contains(o, "(0 files written; 1 of your files not changed: go.mod)") {
				t.Errorf("stdout: %s", o)
			}
			want := "go mod edit -replace github.com/skiffrpc/skiff/core=" + filepath.ToSlash(filepath.Join(rep, "core"))
			if !strings.Contains(e, "go.mod exists and differs from the scaffold: not changed") || !strings.Contains(e, want) {
				t.Errorf("stderr lacks the go.mod note or %q:\n%s", want, e)
			}
			if strings.Contains(e, "handler.go") {
				t.Errorf("an unchanged file is reported:\n%s", e)
			}
			after := snapshot(t, dir)
			if len(after) != len(before) {
				t.Fatalf("files: %v then %v", keys(before), keys(after))
			}
			for p, b := range before {
				if after[p] != b {
					t.Errorf("%s changed", p)
				}
			}
		})
	}
}

// freeAddr returns a free loopback address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestNewBuildsAndServes scaffolds a service from a Thrift IDL (methods
// returning lists, maps, sets, binaries, scalars, enums and structs, an
// included file and a base service) and from a protobuf IDL (imports,
// streaming methods), checks both have the same layout, builds each with
// its own ./build.sh against this checkout's Skiff modules
// (-skiff-replace), starts the built server and runs the scaffold's own
// client, which must succeed the first time: the stub handlers return valid
// empty results. A second skiff new with the README's regenerate command
// then changes nothing.
func TestNewBuildsAndServes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	root := repoRoot(t)
	cases := []struct {
		name, idl, module string
		want              []string
	}{
		{"thrift", "testdata/scaffold/store.thrift", "example.com/storesvc",
			[]string{"Ping: ", "List: [] err=<nil>", "Counts: map[] err=<nil>", "Tags: [] err=<nil>", "Blob: [] err=<nil>",
				"Get: &{", "Size: 0 err=<nil>", "Favorite: Color(0) err=<nil>", "Put: err=<nil>", "Touch: err=<nil>",
				"idl/store.thrift", "idl/types.thrift", "gen/store/store.go"}},
		{"proto", "../../protogen/testdata/run/echo.proto", "example.com/echosvc",
			[]string{"Echo: ", "Fail: ", "Watch: streaming, not called", "idl/echo.proto", "idl/types.proto", "gen/echo/echo_skiff.pb.go"}},
	}
	layouts := map[string][]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), path.Base(c.module))
			o, e, code := skiff(t, "new", "-out", dir, "-module", c.module, "-skiff-replace", root, c.idl)
			if code != 0 {
				t.Fatalf("skiff new: %s %s", o, e)
			}
			files := snapshot(t, dir)
			var layout []string
			for p := range files {
				rel, _ := filepath.Rel(dir, p)
				rel = filepath.ToSlash(rel)
				if !strings.HasPrefix(rel, "gen/") && !strings.HasPrefix(rel, "idl/") {
					layout = append(layout, rel)
				}
			}
			sort.Strings(layout)
			layouts[c.name] = layout
			for _, f := range c.want {
				if strings.Contains(f, "/") && !strings.Contains(f, ":") {
					if _, ok := files[filepath.Join(dir, filepath.FromSlash(f))]; !ok {
						t.Errorf("scaffold lacks %s", f)
					}
				}
			}
			readme := files[filepath.Join(dir, "README.md")]
			m := regexp.MustCompile(`(?m)^      (skiff new .*)$`).FindStringSubmatch(readme)
			if m == nil {
				t.Fatalf("README has no regenerate command:\n%s", readme)
			}
			seedGoSum(t, root, dir)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			build := exec.CommandContext(ctx, "./build.sh")
			build.Dir = dir
			build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("./build.sh: %v\n%s", err, out)
			}
			bin := filepath.Join(dir, "output", "bin", path.Base(c.module))
			out := serveAndCall(t, bin, bin+"-client")
			for _, want := range c.want {
				if strings.Contains(want, ":") && !strings.Contains(out, want) {
					t.Errorf("client output lacks %q:\n%s", want, out)
				}
			}

			// The README's regenerate command, run in the module, writes
			// nothing and reports nothing.
			args := strings.Fields(m[1])[1:]
			args = append([]string{args[0], "-out", dir, "-skiff-replace", root}, args[1:]...)
			for i, a := range args {
				if strings.HasPrefix(a, "idl") {
					args[i] = filepath.Join(dir, a)
				}
			}
			if o, e, code := skiff(t, args...); code != 0 || !strings.Contains(o, "(0 files written)") || e != "" {
				t.Errorf("skiff %v: %s %s", args, o, e)
			}
		})
	}
	for kind, l := range layouts {
		if !slices.Equal(l, scaffold.Layout) {
			t.Errorf("%s scaffold: files %v outside gen/ and idl/, want %v", kind, l, scaffold.Layout)
		}
	}
}

// serveAndCall starts the server binary on a free loopback port, waits for
// it to listen, runs the client binary against it and returns the client's
// output; a client failure fails the test.
func serveAndCall(t *testing.T, server, client string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, server, "-addr", addr)
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Kill()
		srv.Wait()
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never listened: %s", srvOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := exec.CommandContext(ctx, client, "-addr", addr).CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s\nserver:\n%s", err, out, srvOut.String())
	}
	return string(out)
}

// TestProtoDispatch: .proto files go to protogen, .thrift files to
// thriftgen, in one atomic run.
func TestProtoDispatch(t *testing.T) {
	in := t.TempDir()
	proto := filepath.Join(in, "hello.proto")
	src := "syntax = \"proto3\";\npackage hello;\noption go_package = \"example.com/x/hello\";\n" +
		"message Req { string name = 1; }\nservice Greeter { rpc Hi(Req) returns (Req); }\n"
	if err := os.WriteFile(proto, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	o, e, code := skiff(t, "-out", out, "-module", "example.com/x", "-I", in, proto, filepath.Join(corpus, "echo.thrift"))
	if code != 0 {
		t.Fatalf("skiff: %s %s", o, e)
	}
	files := snapshot(t, out)
	var thrift, pb bool
	for p, content := range files {
		thrift = thrift || strings.HasSuffix(p, filepath.Join("echo", "echo.go"))
		pb = pb || strings.HasSuffix(p, ".go") && strings.Contains(content, "package hello")
	}
	if !thrift || !pb {
		t.Errorf("generated %v: want the Thrift and the protobuf code", keys(files))
	}
}

// TestGoModMissing: a go.mod that go mod tidy grew lacks nothing; a missing
// require or a replace of another target gives a go mod edit command.
func TestGoModMissing(t *testing.T) {
	next := "module x\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/skiffrpc/skiff/core v0.1.0\n\tgithub.com/apache/thrift v0.22.0\n)\n\nreplace github.com/skiffrpc/skiff/core => /src/core\n"
	tidied := "module x\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/skiffrpc/skiff/core v0.1.0\n\tgithub.com/apache/thrift v0.22.0\n)\n\nrequire golang.org/x/sys v0.30.0 // indirect\n\nreplace (\n\tgithub.com/skiffrpc/skiff/core => /src/core\n)\n"
	if got := goModMissing([]byte(tidied), []byte(next)); len(got) != 0 {
		t.Errorf("tidied go.mod: %v", got)
	}
	old := "module x\n\nrequire github.com/skiffrpc/skiff/core v0.1.0\n\nreplace github.com/skiffrpc/skiff/core => /elsewhere/core\n"
	got := goModMissing([]byte(old), []byte(next))
	want := []string{"go mod edit -require github.com/apache/thrift@v0.22.0", "go mod edit -replace github.com/skiffrpc/skiff/core=/src/core"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestBareGoPackage: a go_package holding a bare name (as Kitex accepts)
// is taken under -module, in skiff and in skiff new; -M overrides it; with
// no module at all the error says to give one.
func TestBareGoPackage(t *testing.T) {
	in := t.TempDir()
	proto := filepath.Join(in, "hello.proto")
	src := "syntax = \"proto3\";\npackage hello;\noption go_package = \"hellopb\";\n" +
		"message Req { string name = 1; }\nservice Greeter { rpc Hi(Req) returns (Req); }\n"
	if err := os.WriteFile(proto, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args     []string
		dir, pkg string
	}{
		{[]string{"-module", "example.com/x"}, "hellopb", "hellopb"},
		{[]string{"-module", "example.com/x", "-M", "hello.proto=example.com/x/greet;greetpb"}, "greet", "greetpb"},
		// Without ";name", protoc-gen-go keeps the package name of go_package.
		{[]string{"-module", "example.com/x", "-M", "hello.proto=other"}, "other", "hellopb"},
	}
	for _, c := range cases {
		out := t.TempDir()
		args := append(append([]string{"-out", out}, c.args...), proto)
		if o, e, code := skiff(t, args...); code != 0 {
			t.Fatalf("skiff %v: %s %s", args, o, e)
		}
		for _, f := range []string{"hello.pb.go", "hello_skiff.pb.go"} {
			b, err := os.ReadFile(filepath.Join(out, c.dir, f))
			if err != nil {
				t.Errorf("skiff %v: %v", c.args, err)
				continue
			}
			if !strings.Contains(string(b), "\npackage "+c.pkg+"\n") {
				t.Errorf("skiff %v: %s is not package %s", c.args, f, c.pkg)
			}
		}
	}
	if _, e, code := skiff(t, "-out", t.TempDir(), proto); code != 1 || !strings.Contains(e, "Options.Module") {
		t.Errorf("without a module: exit %d, %s", code, e)
	}
	dir := t.TempDir()
	if o, e, code := skiff(t, "new", "-out", dir, "-module", "example.com/hellosvc", proto); code != 0 {
		t.Fatalf("skiff new: %s %s", o, e)
	}
	b, err := os.ReadFile(filepath.Join(dir, "handler.go"))
	if err != nil || !strings.Contains(string(b), `"example.com/hellosvc/gen/hellopb"`) {
		t.Errorf("handler.go: %v\n%s", err, b)
	}
}

// TestScaffoldThroughLocalProxy publishes this checkout's released modules
// as a local module proxy (scripts/localproxy: every module at the release
// version core.Version names, from its tag or else from the committed HEAD
// as a preview), installs skiff from it with go install
// .../tool/cmd/skiff@version into an empty module cache, scaffolds a
// Thrift and a protobuf service with the installed skiff and no
// -skiff-replace (go.mod requires the installed skiff's own version), and
// builds each with its ./build.sh through the proxy; the scaffold's client
// then succeeds against its server. It tests committed code, not the
// working tree. Third-party modules come from the module cache's download
// directory used as a second proxy (the usual GOPROXY only for what it
// lacks), so a machine that ran the other tests fetches nothing; -trimpath
// lets the build cache serve them although the module cache is new.
func TestScaffoldThroughLocalProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds modules through a local proxy")
	}
	root := repoRoot(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").CombinedOutput(); err != nil {
		t.Skipf("not a git checkout: %v %s", err, out)
	}
	goenv, err := exec.Command("go", "env", "GOMODCACHE", "GOPROXY").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(goenv)), "\n")
	download := filepath.Join(lines[0], "cache", "download")
	upstream := "off"
	if len(lines) > 1 && lines[1] != "" {
		upstream = lines[1]
	}

	proxy, bin, home := t.TempDir(), t.TempDir(), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	lp := exec.CommandContext(ctx, "go", "run", filepath.Join(root, "scripts", "localproxy", "main.go"), "-repo", root, "-out", proxy)
	lp.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=off")
	vout, err := lp.Output()
	if err != nil {
		t.Fatalf("localproxy: %v", err)
	}
	version := strings.TrimSpace(string(vout))
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(version) {
		t.Fatalf("localproxy printed %q, want the release version", version)
	}
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-modcacherw -mod=mod -trimpath", "GOSUMDB=off", "GOTOOLCHAIN=local",
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(download)+","+upstream, "GOMODCACHE="+filepath.Join(home, "modcache"), "GOBIN="+bin)
	gorun := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	gorun(home, "go", "install", "github.com/skiffrpc/skiff/tool/cmd/skiff@"+version)
	skiffBin := filepath.Join(bin, "skiff")
	if out := gorun(home, skiffBin, "version"); !strings.Contains(out, "skiff "+version) || !strings.Contains(out, "scaffolds require Skiff "+version) {
		t.Errorf("installed skiff version: %s", out)
	}
	for _, c := range []struct{ name, idl, want string }{
		{"thrift", filepath.Join(corpus, "echo.thrift"), "Echo: &{"},
		{"proto", "../../protogen/testdata/run/echo.proto", "Echo: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			idl, err := filepath.Abs(c.idl)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "echosvc")
			gorun(home, skiffBin, "new", "-out", dir, "-module", "example.com/echosvc", idl)
			gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(gomod), "replace") || !strings.Contains(string(gomod), "github.com/skiffrpc/skiff/core "+version) {
				t.Fatalf("scaffold go.mod:\n%s", gomod)
			}
			gorun(dir, "./build.sh")
			b := filepath.Join(dir, "output", "bin", "echosvc")
			if out := serveAndCall(t, b, b+"-client"); !strings.Contains(out, c.want) {
				t.Errorf("client output lacks %q:\n%s", c.want, out)
			}
		})
	}
}
