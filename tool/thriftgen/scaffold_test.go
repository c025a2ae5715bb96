package thriftgen

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScaffoldLayout scaffolds everything.thrift, which includes a file
// next to it (sub/base.thrift) and one found through -I (shared.thrift):
// the last service is scaffolded; the three IDL files are copied under
// idl/ at their paths relative to the IDL's directory, and the README's
// regenerate command finds shared.thrift with -I idl/inc (and, run, writes
// the same files);
// the stubs return empty, non-nil results; every Go file parses.
func TestScaffoldLayout(t *testing.T) {
	files, err := Scaffold(ScaffoldOptions{IDL: "testdata/idl/everything.thrift", ImportPaths: []string{"testdata/idl/inc"},
		Module: "example.com/store-svc", SkiffVersion: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = string(f.Content)
	}
	for _, p := range []string{"idl/everything.thrift", "idl/sub/base.thrift", "idl/inc/shared.thrift", "handler.go", "cmd/server/main.go", "cmd/client/main.go", "README.md", "build.sh", "run.sh", ".gitignore", "go.mod"} {
		if _, ok := got[p]; !ok {
			t.Errorf("no %s among %d files", p, len(got))
		}
	}
	for p, want := range map[string]string{
		"idl/sub/base.thrift":   "testdata/idl/sub/base.thrift",
		"idl/inc/shared.thrift": "testdata/idl/inc/shared.thrift",
	} {
		b, err := os.ReadFile(want)
		if err != nil || got[p] != string(b) {
			t.Errorf("%s is not a copy of %s (%v)", p, want, err)
		}
	}
	if !strings.Contains(got["README.md"], "skiff new -module example.com/store-svc -I idl/inc idl/everything.thrift") {
		t.Errorf("README lacks the regenerate command:\n%s", got["README.md"])
	}
	if !strings.Contains(got["go.mod"], "github.com/skiffrpc/skiff/core v1.2.3") {
		t.Errorf("go.mod does not require SkiffVersion:\n%s", got["go.mod"])
	}
	h := got["handler.go"]
	if !strings.HasPrefix(h, "package storesvc\n") || !strings.Contains(h, "var _ everything.Store = (*Handler)(nil)") {
		t.Errorf("handler.go does not implement the last service in package storesvc:\n%s", h)
	}
	if strings.Contains(h, "return nil, nil") {
		t.Errorf("a stub returns a nil result:\n%s", h)
	}
	for p, src := range got {
		if strings.HasSuffix(p, ".go") {
			if _, err := parser.ParseFile(token.NewFileSet(), p, src, 0); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	}
	// The regenerate command, run in a copy of the scaffold, generates
	// the same gen/ files.
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again, err := Scaffold(ScaffoldOptions{IDL: filepath.Join(dir, "idl/everything.thrift"), ImportPaths: []string{filepath.Join(dir, "idl/inc")},
		Module: "example.com/store-svc", SkiffVersion: "v1.2.3"})
	if err != nil {
		t.Fatalf("regenerating from idl/: %v", err)
	}
	n := 0
	for _, f := range again {
		if strings.HasPrefix(f.Path, "gen/") {
			n++
			if got[f.Path] != string(f.Content) {
				t.Errorf("regenerated %s differs", f.Path)
			}
		}
	}
	if n != 3 {
		t.Errorf("regenerated %d gen/ files, want 3", n)
	}
}
