package protogen_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/tool/protogen"
)

// corpus lists the files of testdata/corpus, relative to it.
var corpus = []string{
	"common/common.proto",
	"shop/shop.proto",
	"shop/service.proto",
	"legacy/legacy.proto",
	"opts/options.proto",
}

const corpusModule = "example.com/gen"

// protocVersionLine matches the header line with the protoc version, the
// only line that differs: protoc-gen-go prints "(unknown)" without protoc.
var protocVersionLine = regexp.MustCompile(`(?m)^// \tprotoc        .*$`)

// buildTool builds a main package of the module graph into dir.
func buildTool(t *testing.T, dir, pkg, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// needProtoc skips the test when protoc is not installed.
func needProtoc(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc not installed (Debian package protobuf-compiler): skipping the comparison with protoc-gen-go")
	}
	return p
}

// readTree returns the files under dir by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestMessagesMatchProtocGenGo generates the corpus with real protoc and
// protoc-gen-go v1.36.12 (built from the module cache) and with Generate,
// and compares every .pb.go byte for byte, the protoc version line aside.
func TestMessagesMatchProtocGenGo(t *testing.T) {
	protoc := needProtoc(t)
	bin := t.TempDir()
	gengo := buildTool(t, bin, "google.golang.org/protobuf/cmd/protoc-gen-go", "protoc-gen-go")
	want := t.TempDir()
	args := []string{"-I", "testdata/corpus", "--plugin=protoc-gen-go=" + gengo,
		"--go_out=" + want, "--go_opt=module=" + corpusModule}
	cmd := exec.Command(protoc, append(args, corpus...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	wantFiles := readTree(t, want)
	if len(wantFiles) != len(corpus) {
		t.Fatalf("protoc-gen-go wrote %d files, want %d", len(wantFiles), len(corpus))
	}

	var files []string
	for _, f := range corpus {
		files = append(files, filepath.Join("testdata/corpus", f))
	}
	got, err := protogen.Generate(protogen.Options{Files: files, ImportPaths: []string{"testdata/corpus"}, Module: corpusModule})
	if err != nil {
		t.Fatal(err)
	}
	gotFiles := map[string][]byte{}
	for _, f := range got {
		if !strings.HasSuffix(f.Path, protogen.ServiceFileSuffix) {
			gotFiles[f.Path] = f.Content
		}
	}
	for name, w := range wantFiles {
		g, ok := gotFiles[name]
		if !ok {
			t.Errorf("%s: not generated", name)
			continue
		}
		if !protocVersionLine.Match(g) || !bytes.Contains(g, []byte("// \tprotoc        (unknown)\n")) {
			t.Errorf("%s: no \"protoc (unknown)\" version line", name)
		}
		wn := protocVersionLine.ReplaceAll(w, []byte("// \tprotoc        X"))
		gn := protocVersionLine.ReplaceAll(g, []byte("// \tprotoc        X"))
		if !bytes.Equal(wn, gn) {
			t.Errorf("%s differs from protoc-gen-go's output:\n%s", name, firstDiff(wn, gn))
		}
	}
	for name := range gotFiles {
		if _, ok := wantFiles[name]; !ok {
			t.Errorf("%s: generated, but protoc-gen-go did not write it", name)
		}
	}
}

// firstDiff describes the first differing line of a and b.
func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + itoa(i+1) + ":\n protoc-gen-go: " + x + "\n protogen:      " + y
		}
	}
	return "(no differing line)"
}

func itoa(i int) string {
	return strconv.Itoa(i)
}
