package install

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core"
)

// root is the repository root.
const root = "../.."

// skiffPrefix starts every Skiff module path.
const skiffPrefix = "github.com/skiffrpc/skiff/"

// user is a new user's machine: an empty module cache whose only sources
// are the local proxy of this checkout, the developer's module cache (so
// that nothing already downloaded is fetched again) and then the usual
// GOPROXY.
type user struct {
	t       *testing.T
	ctx     context.Context
	env     []string
	bin     string
	version string
}

// newUser publishes the checkout's released modules into a proxy tree and
// returns the user who installs from it.
func newUser(t *testing.T) *user {
	t.Helper()
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	if out, err := exec.Command("git", "-C", abs, "rev-parse", "HEAD").CombinedOutput(); err != nil {
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
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	t.Cleanup(cancel)

	proxy, home := t.TempDir(), t.TempDir()
	lp := exec.CommandContext(ctx, "go", "run", filepath.Join(abs, "scripts", "localproxy", "main.go"), "-repo", abs, "-out", proxy)
	lp.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=off")
	var stderr strings.Builder
	lp.Stderr = &stderr
	vout, err := lp.Output()
	if err != nil {
		t.Fatalf("localproxy: %v\n%s", err, stderr.String())
	}
	t.Logf("local proxy:\n%s", stderr.String())
	u := &user{t: t, ctx: ctx, bin: filepath.Join(home, "bin"), version: strings.TrimSpace(string(vout))}
	if u.version != core.Version {
		t.Fatalf("localproxy published %q, core.Version is %q", u.version, core.Version)
	}
	// GOSUMDB=off: the Skiff modules are not in the checksum database
	// (a preview never will be), and the third-party ones come from files.
	// -modcacherw lets t.TempDir remove the module cache; -trimpath lets the
	// build cache serve packages although the module cache is new.
	u.env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -modcacherw -trimpath", "GOSUMDB=off", "GOTOOLCHAIN=local",
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(download)+","+upstream,
		"GOMODCACHE="+filepath.Join(home, "modcache"), "GOBIN="+u.bin, "GOPATH="+filepath.Join(home, "gopath"))
	return u
}

// run runs a command in dir and returns its combined output.
func (u *user) run(dir string, args ...string) string {
	u.t.Helper()
	cmd := exec.CommandContext(u.ctx, args[0], args[1:]...)
	cmd.Dir, cmd.Env = dir, u.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		u.t.Fatalf("%s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// project copies testdata/name into a new directory and makes it the
// module example.com/name.
func (u *user) project(name string) string {
	u.t.Helper()
	dir := filepath.Join(u.t.TempDir(), name)
	src := filepath.Join("testdata", name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		u.t.Fatal(err)
	}
	u.run(dir, "go", "mod", "init", "example.com/"+name)
	return dir
}

// closure returns the module paths of dir's module graph and of its
// go.sum.
func (u *user) closure(dir string) (graph, sum map[string]bool) {
	u.t.Helper()
	graph, sum = map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(u.run(dir, "go", "mod", "graph"), "\n") {
		for _, f := range strings.Fields(l) {
			m, _, _ := strings.Cut(f, "@")
			graph[m] = true
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		u.t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			sum[f[0]] = true
		}
	}
	return graph, sum
}

// forbid fails if a module path of graph or sum starts with one of the
// prefixes.
func forbid(t *testing.T, what string, graph, sum map[string]bool, prefixes ...string) {
	t.Helper()
	for _, set := range []struct {
		name string
		m    map[string]bool
	}{{"go mod graph", graph}, {"go.sum", sum}} {
		for m := range set.m {
			for _, p := range prefixes {
				if m == p || strings.HasPrefix(m, p+"/") {
					t.Errorf("%s: %s has %s", what, set.name, m)
				}
			}
		}
	}
}

// built returns the modules whose packages building pkg in dir compiles
// (the main module aside).
func (u *user) built(dir, pkg string) map[string]bool {
	u.t.Helper()
	out := map[string]bool{}
	for _, m := range strings.Fields(u.run(dir, "go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}", pkg)) {
		out[m] = true
	}
	return out
}

// forbidZip fails if the go.sum file holds the hash of a module's content
// (not only of its go.mod) for a path starting with prefix.
func forbidZip(t *testing.T, gosum, prefix string) {
	t.Helper()
	b, err := os.ReadFile(gosum)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && strings.HasPrefix(f[0], prefix) && !strings.HasSuffix(f[1], "/go.mod") {
			t.Errorf("go.sum has the content of %s %s", f[0], f[1])
		}
	}
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// skiffModules returns the Skiff modules of a module graph.
func skiffModules(graph map[string]bool) []string {
	var out []string
	for m := range graph {
		if strings.HasPrefix(m, skiffPrefix) {
			out = append(out, strings.TrimPrefix(m, skiffPrefix))
		}
	}
	return out
}

// TestInstall is a new user's path, through the module proxy protocol
// only: go install skiff@version; a Thrift echo with codec-thrift alone
// (go get one module), whose module graph and go.sum hold no gRPC,
// protobuf, Consul or goleak, and builds no x/net package; a gRPC echo with codec-grpc and
// transport-http2; and a third-party codec module (JSON messages) written
// against core alone, registered and used end to end. Each program serves
// on 127.0.0.1, calls itself and stops.
func TestInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds modules through a local proxy")
	}
	start := time.Now()
	u := newUser(t)
	v := u.version

	// go install skiff@version, as the README says.
	u.run(t.TempDir(), "go", "install", skiffPrefix+"tool/cmd/skiff@"+v)
	skiff := filepath.Join(u.bin, "skiff")
	if out := u.run(t.TempDir(), skiff, "version"); !strings.Contains(out, "skiff "+v+" ") {
		t.Errorf("skiff version: %s", out)
	}
	t.Logf("go install skiff@%s: %v", v, time.Since(start).Round(time.Millisecond))
	// @latest names the same release (go install ...@latest once failed).
	if out := u.run(t.TempDir(), "go", "list", "-m", skiffPrefix+"tool@latest"); strings.TrimSpace(out) != skiffPrefix+"tool "+v {
		t.Errorf("go list -m tool@latest: %s", out)
	}

	t.Run("thrift", func(t *testing.T) {
		u := *u
		u.t = t
		dir := u.project("thriftecho")
		u.run(dir, "go", "get", skiffPrefix+"codec-thrift@"+v)
		u.run(dir, skiff, "-out", "gen", "-module", "example.com/thriftecho/gen", "echo.thrift")
		u.run(dir, "go", "mod", "tidy")
		u.run(dir, "go", "build", "-o", "echo", ".")
		if out := u.run(dir, "./echo"); strings.TrimSpace(out) != "echo: thrift" {
			t.Errorf("thriftecho printed %q", out)
		}
		graph, sum := u.closure(dir)
		forbid(t, "core + codec-thrift", graph, sum,
			"google.golang.org/grpc", "google.golang.org/protobuf", "google.golang.org/genproto", "github.com/golang/protobuf",
			"github.com/hashicorp", "go.uber.org/goleak")
		// golang.org/x/net is in the graph only as a go.mod requirement of
		// Netpoll's utility modules (bytedance/gopkg, cloudwego/gopkg): no
		// package of it is built and go.sum holds only its go.mod hash.
		built := u.built(dir, ".")
		forbid(t, "core + codec-thrift, modules of the packages built", built, nil, "golang.org/x/net")
		forbidZip(t, filepath.Join(dir, "go.sum"), "golang.org/x/net")
		t.Logf("modules whose packages the thrift echo builds: %v", sorted(built))
		if got := skiffModules(graph); len(got) != 2 || !graph[skiffPrefix+"core"] || !graph[skiffPrefix+"codec-thrift"] {
			t.Errorf("Skiff modules in the graph: %v, want core and codec-thrift", got)
		}
		t.Logf("core + codec-thrift: %d modules in the graph, %d in go.sum", len(graph), len(sum))
	})

	t.Run("grpc", func(t *testing.T) {
		u := *u
		u.t = t
		dir := u.project("grpcecho")
		u.run(dir, "go", "get", skiffPrefix+"codec-grpc@"+v, skiffPrefix+"transport-http2@"+v)
		u.run(dir, skiff, "-out", "gen", "-module", "example.com/grpcecho/gen", "echo.proto")
		u.run(dir, "go", "mod", "tidy")
		u.run(dir, "go", "build", "-o", "echo", ".")
		if out := u.run(dir, "./echo"); strings.TrimSpace(out) != "echo: grpc" {
			t.Errorf("grpcecho printed %q", out)
		}
		graph, sum := u.closure(dir)
		t.Logf("modules whose packages the gRPC echo builds: %v", sorted(u.built(dir, ".")))
		forbid(t, "core + codec-grpc + transport-http2", graph, sum,
			"github.com/apache/thrift", "github.com/cloudwego/thriftgo", "github.com/hashicorp", "go.uber.org/goleak", "google.golang.org/grpc")
		if got := skiffModules(graph); len(got) != 3 {
			t.Errorf("Skiff modules in the graph: %v, want core, codec-grpc and transport-http2", got)
		}
		t.Logf("core + codec-grpc + transport-http2: %d modules in the graph, %d in go.sum", len(graph), len(sum))
	})

	t.Run("thirdparty", func(t *testing.T) {
		u := *u
		u.t = t
		dir := u.project("skiffjson")
		u.run(dir, "go", "get", skiffPrefix+"core@"+v)
		u.run(dir, "go", "mod", "tidy")
		u.run(dir, "go", "vet", "./...")
		u.run(dir, "go", "build", "-o", "jsonecho", "./cmd/jsonecho")
		out := u.run(dir, "./jsonecho")
		if !strings.Contains(out, "echo: json\n") || !strings.Contains(out, "Fail: invalid_argument (no such thing)") {
			t.Errorf("jsonecho printed:\n%s", out)
		}
		graph, _ := u.closure(dir)
		if got := skiffModules(graph); len(got) != 1 || got[0] != "core" {
			t.Errorf("Skiff modules in the graph: %v, want core alone", got)
		}
		gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(gomod), "replace") || !strings.Contains(string(gomod), skiffPrefix+"core "+v) {
			t.Errorf("third-party go.mod:\n%s", gomod)
		}
	})
	t.Logf("TestInstall took %v", time.Since(start).Round(time.Millisecond))
}

// TestVersionsAgree checks every place that names the release version
// against core.Version: the requirements between Skiff modules in every
// go.mod (scripts/release.sh bump keeps them in step) and the tool's
// constants.
func TestVersionsAgree(t *testing.T) {
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(core.Version) {
		t.Fatalf("core.Version %q is not vMAJOR.MINOR.PATCH", core.Version)
	}
	req := regexp.MustCompile(`(?m)^\s*(?:require\s+)?(github\.com/skiffrpc/skiff/[\w.-]+)\s+(v\S+)`)
	mods, err := filepath.Glob(filepath.Join(root, "*", "go.mod"))
	if err != nil || len(mods) < 10 {
		t.Fatalf("go.mod files: %v %v", mods, err)
	}
	n := 0
	for _, p := range append(mods, filepath.Join(root, "tests", "thirdparty", "testdata", "ext", "go.mod.txt")) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range req.FindAllStringSubmatch(string(b), -1) {
			n++
			if m[2] != core.Version {
				t.Errorf("%s requires %s %s, want %s", p, m[1], m[2], core.Version)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d requirements between Skiff modules", n)
	}
	for _, c := range []struct{ file, decl string }{
		{"tool/thriftgen/scaffold.go", "const SkiffVersion = "},
		{"tool/protogen/scaffold.go", "const SkiffVersion = "},
		{"tool/protogen/plugin.go", "const Version = "},
	} {
		b, err := os.ReadFile(filepath.Join(root, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), c.decl+`"`+core.Version+`"`) {
			t.Errorf("%s does not say %s%q", c.file, c.decl, core.Version)
		}
	}
}

// TestNoGoleakInReleasedModules checks that no released module requires
// go.uber.org/goleak: a requirement, even one only tests use, lands in the
// module graph of every user of the module. core/leaktest does the same
// check without it.
func TestNoGoleakInReleasedModules(t *testing.T) {
	mods, err := filepath.Glob(filepath.Join(root, "*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range mods {
		switch filepath.Base(filepath.Dir(p)) {
		case "examples", "tests", "benchmark":
			continue // not released
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "go.uber.org/goleak") {
			t.Errorf("%s requires go.uber.org/goleak: use github.com/skiffrpc/skiff/core/leaktest", p)
		}
	}
	if n < 10 {
		t.Errorf("only %d released modules found", n)
	}
}
