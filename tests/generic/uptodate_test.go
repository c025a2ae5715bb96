package generictest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestGeneratedUpToDate regenerates gen/ with the skiff command of this
// checkout (../../tool) into a temporary directory and fails if the
// committed code differs: run gen.sh after changing idl/all.thrift.
func TestGeneratedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	tool, err := filepath.Abs("../../tool")
	if err != nil {
		t.Fatal(err)
	}
	idl, err := filepath.Abs("idl/all.thrift")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./cmd/skiff", "-out", out,
		"-module", "github.com/skiffrpc/skiff/tests/generic/gen", idl)
	cmd.Dir = tool
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skiff: %v\n%s", err, b)
	}
	for _, f := range []string{"alltypes/all.go", "base/base.go"} {
		want, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("gen", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("gen/%s differs from what the skiff command writes: run gen.sh", f)
		}
	}
}
