package thriftgen_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/tool/thriftgen"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenModule is the module path the golden files are generated under.
const goldenModule = "example.com/gen"

// TestGolden generates code for every IDL in testdata/idl and compares it
// with testdata/golden/<idl>/. Run with -update to accept a change.
func TestGolden(t *testing.T) {
	idls, err := filepath.Glob("testdata/idl/*.thrift")
	if err != nil || len(idls) == 0 {
		t.Fatalf("no IDLs: %v", err)
	}
	for _, idl := range idls {
		name := strings.TrimSuffix(filepath.Base(idl), ".thrift")
		t.Run(name, func(t *testing.T) {
			files, err := thriftgen.Generate(thriftgen.Options{Files: []string{idl}, ImportPaths: []string{"testdata/idl/inc"}, Module: goldenModule})
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", "golden", name)
			if *update {
				os.RemoveAll(dir)
			}
			want := map[string]bool{}
			for _, f := range files {
				p := filepath.Join(dir, filepath.FromSlash(f.Path)) + ".golden"
				want[p] = true
				if *update {
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, f.Content, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				b, err := os.ReadFile(p)
				if err != nil {
					t.Errorf("%s: %v (run go test -update)", f.Path, err)
					continue
				}
				if string(b) != string(f.Content) {
					t.Errorf("%s differs from %s (run go test -update and review the diff)", f.Path, p)
				}
			}
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !want[p] {
					t.Errorf("golden file %s is not generated any more", p)
				}
				return nil
			})
		})
	}
}
