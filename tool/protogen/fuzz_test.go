package protogen_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/tool/protogen"
)

// FuzzGenerate feeds arbitrary .proto sources to Generate: it must return
// files or an error, never panic, and source errors must carry a position.
func FuzzGenerate(f *testing.F) {
	for _, name := range []string{"testdata/corpus/common/common.proto", "testdata/corpus/legacy/legacy.proto", "testdata/run/types.proto"} {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("syntax = \"proto3\"; message A { map<string, A> m = 1; oneof o { int32 x = 2; } }"))
	f.Add([]byte("syntax = \"proto3\"; service S { rpc M(stream A) returns (stream A); } message A {}"))
	f.Add([]byte("message"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		file := filepath.Join(dir, "fuzz.proto")
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		var files []protogen.File
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			files, err = protogen.Generate(protogen.Options{Files: []string{file}, Module: "example.com/fuzz"})
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("Generate did not return in 20s for %q", src)
		}
		if err != nil {
			if files != nil {
				t.Fatalf("files returned with error %v", err)
			}
			var pe *protogen.PosError
			if errors.As(err, &pe) && (pe.Line < 0 || pe.Col < 0) {
				t.Fatalf("bad position in %v", err)
			}
			return
		}
		if len(files) == 0 {
			t.Fatal("no error and no files")
		}
	})
}
