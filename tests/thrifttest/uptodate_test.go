package thrifttest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGeneratedUpToDate regenerates gen/ with the skiff command of this
// checkout (../../tool) into a temporary directory and fails if the
// committed code differs: run gen.sh after changing the generator or the
// IDL. When Apache Thrift's compiler is installed it checks apache/ too.
func TestGeneratedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	tool, err := filepath.Abs("../../tool")
	if err != nil {
		t.Fatal(err)
	}
	idl, err := filepath.Abs("idl/ThriftTest.thrift")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	echoIDL, err := filepath.Abs("../../examples/echo/echo.thrift")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "go", "run", "./cmd/skiff", "-out", out,
		"-module", "github.com/skiffrpc/skiff/tests/thrifttest/gen", idl, echoIDL)
	cmd.Dir = tool
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skiff: %v\n%s", err, b)
	}
	compareTrees(t, "gen", out)

	if _, err := exec.LookPath("thrift"); err != nil {
		t.Log("thrift compiler not installed: apache/ not checked")
		return
	}
	aout := t.TempDir()
	cmd = exec.CommandContext(ctx, "thrift", "-r", "--gen", "go:package_prefix=github.com/skiffrpc/skiff/tests/thrifttest/apache/", "-out", aout, idl)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("thrift: %v\n%s", err, b)
	}
	matches, _ := filepath.Glob(filepath.Join(aout, "thrifttest", "*-remote"))
	for _, m := range matches {
		os.RemoveAll(m)
	}
	if b, err := exec.CommandContext(ctx, "gofmt", "-w", aout).CombinedOutput(); err != nil {
		t.Fatalf("gofmt: %v\n%s", err, b)
	}
	compareTrees(t, "apache", aout)
}

// compareTrees fails unless the directories hold the same files with the
// same content.
func compareTrees(t *testing.T, committed, fresh string) {
	t.Helper()
	read := func(dir string) map[string]string {
		m := map[string]string{}
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			m[filepath.ToSlash(rel)] = string(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := read(committed), read(fresh)
	for p, content := range b {
		if old, ok := a[p]; !ok {
			t.Errorf("%s/%s is not committed: run gen.sh", committed, p)
		} else if old != content {
			t.Errorf("%s/%s is out of date: run gen.sh", committed, p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok && !strings.HasPrefix(p, ".") {
			t.Errorf("%s/%s is not generated any more: run gen.sh", committed, p)
		}
	}
}
