package thirdparty_test

import (
	"bufio"
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/leaktest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// coreModule is the path of the only Skiff module the outside module may
// require.
const coreModule = "github.com/skiffrpc/skiff/core"

// TestOutsideModule builds and tests testdata/ext as a module outside the
// workspace that depends on core alone.
func TestOutsideModule(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not available:", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	core, err := filepath.Abs(filepath.Join(wd, "..", "..", "core"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(core, "go.mod")); err != nil {
		t.Fatalf("core module not found next to the tests module: %v", err)
	}

	dir := t.TempDir()
	copyModule(t, filepath.Join(wd, "testdata", "ext"), dir, core)

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Dir = dir
		cmd.Env = moduleEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
		}
		return string(out)
	}

	// Resolve the module graph: core's requirements come from the module
	// cache (or the proxy), checked against the go.sum entries copied
	// from core.
	run("mod", "tidy")
	checkRequirements(t, filepath.Join(dir, "go.mod"))
	checkImports(t, run("list", "-test", "-f", "{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}", "./..."))

	run("vet", "./...")
	out := run("test", "-race", "-count=1", "-timeout=3m", "-v", "./...")
	t.Logf("go test in the outside module:\n%s", summary(out))
}

// summary keeps the package results of verbose go test output, and the
// skipped tests with their reasons (a skip there reports a finding).
func summary(out string) string {
	var b strings.Builder
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "ok "), strings.HasPrefix(l, "? "), strings.HasPrefix(l, "FAIL"):
			b.WriteString(l + "\n")
		case strings.Contains(l, "--- SKIP"):
			b.WriteString(l + "\n")
			if i > 0 {
				b.WriteString(lines[i-1] + "\n")
			}
		}
	}
	return b.String()
}

// copyModule copies the module source from src to dst, making go.mod from
// go.mod.txt with a replace of core by the checkout at core, and seeding
// go.sum with core's.
func copyModule(t *testing.T, src, dst, core string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == "go.mod.txt" {
			target = filepath.Join(dst, "go.mod")
			data = append(data, []byte("\nreplace "+coreModule+" => "+core+"\n")...)
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "go.mod")); err != nil {
		t.Fatalf("testdata/ext has no go.mod.txt: %v", err)
	}
	sum, err := os.ReadFile(filepath.Join(core, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}

// moduleEnv is the environment passed through, with the workspace off
// (the module is outside it) and go.mod updates allowed.
func moduleEnv() []string {
	env := append([]string(nil), os.Environ()...)
	flags := strings.TrimSpace(os.Getenv("GOFLAGS") + " -mod=mod")
	return append(env, "GOWORK=off", "GOFLAGS="+flags)
}

// checkRequirements fails unless core is the module's only direct
// requirement.
func checkRequirements(t *testing.T, gomod string) {
	t.Helper()
	data, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	var direct []string
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "require (":
			inBlock = true
			continue
		case inBlock && line == ")":
			inBlock = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !inBlock:
			continue
		}
		if line != "" && !strings.HasSuffix(line, "// indirect") {
			direct = append(direct, strings.Fields(line)[0])
		}
	}
	if len(direct) != 1 || direct[0] != coreModule {
		t.Fatalf("the outside module requires %q directly; want %s alone\n%s", direct, coreModule, data)
	}
}

// checkImports fails if a package or test of the module imports a Skiff
// package outside core, or one of core's internal packages (the go tool
// would refuse the latter anyway). list has one line per package, test
// variants included: "importpath: import import ...".
func checkImports(t *testing.T, list string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		for _, p := range strings.Fields(imports) {
			if !strings.HasPrefix(p, "github.com/skiffrpc/skiff/") {
				continue
			}
			if !strings.HasPrefix(p, coreModule+"/") || strings.Contains(p, "/internal") {
				t.Errorf("%s imports %s; the outside module may use core's exported packages only", pkg, p)
			}
		}
	}
}
