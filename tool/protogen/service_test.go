package protogen_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/tool/protogen"
)

var update = flag.Bool("update", false, "rewrite the golden files of the service code")

// generateCorpus runs Generate on the corpus.
func generateCorpus(t *testing.T) []protogen.File {
	t.Helper()
	var files []string
	for _, f := range corpus {
		files = append(files, filepath.Join("testdata", "corpus", f))
	}
	got, err := protogen.Generate(protogen.Options{Files: files, ImportPaths: []string{"testdata/corpus"}, Module: corpusModule})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestServiceGolden compares the service code generated for the corpus
// with testdata/golden (go test -run TestServiceGolden -update rewrites
// them).
func TestServiceGolden(t *testing.T) {
	n := 0
	for _, f := range generateCorpus(t) {
		if !strings.HasSuffix(f.Path, protogen.ServiceFileSuffix) {
			continue
		}
		n++
		golden := filepath.Join("testdata", "golden", filepath.FromSlash(f.Path)+".golden")
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, f.Content, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(f.Content, want) {
			t.Errorf("%s differs from %s:\n%s", f.Path, golden, firstDiff(want, f.Content))
		}
	}
	// shop/service.proto, legacy/legacy.proto and opts/options.proto
	// declare services.
	if n != 3 {
		t.Errorf("%d service files generated, want 3", n)
	}
}

// TestPluginThroughProtoc runs protoc-gen-skiff through real protoc: by
// default it writes only the service code, the same bytes as Generate; with
// messages=true it also writes the messages, identical to protoc-gen-go's
// (here with the real protoc version line).
func TestPluginThroughProtoc(t *testing.T) {
	protoc := needProtoc(t)
	bin := t.TempDir()
	gengo := buildTool(t, bin, "google.golang.org/protobuf/cmd/protoc-gen-go", "protoc-gen-go")
	skiff := buildTool(t, bin, "github.com/skiffrpc/skiff/tool/cmd/protoc-gen-skiff", "protoc-gen-skiff")

	protocRun := func(args ...string) map[string][]byte {
		t.Helper()
		out := t.TempDir()
		args = append([]string{"-I", "testdata/corpus", "--plugin=protoc-gen-go=" + gengo, "--plugin=protoc-gen-skiff=" + skiff}, args...)
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, "OUT", out)
		}
		cmd := exec.Command(protoc, append(args, corpus...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("protoc %v: %v\n%s", args, err, b)
		}
		return readTree(t, out)
	}

	want := map[string][]byte{}
	for _, f := range generateCorpus(t) {
		want[f.Path] = f.Content
	}

	services := protocRun("--skiff_out=OUT", "--skiff_opt=module="+corpusModule)
	if len(services) != 3 {
		t.Errorf("protoc-gen-skiff wrote %d files, want the 3 service files", len(services))
	}
	for name, got := range services {
		if !strings.HasSuffix(name, protogen.ServiceFileSuffix) {
			t.Errorf("%s: written without messages=true", name)
			continue
		}
		if !bytes.Equal(got, want[name]) {
			t.Errorf("%s: plugin output differs from Generate:\n%s", name, firstDiff(want[name], got))
		}
	}

	gen := protocRun("--go_out=OUT", "--go_opt=module="+corpusModule)
	all := protocRun("--skiff_out=OUT", "--skiff_opt=module="+corpusModule+",messages=true")
	if len(all) != len(gen)+len(services) {
		t.Errorf("with messages=true: %d files, want %d", len(all), len(gen)+len(services))
	}
	for name, w := range gen {
		if !bytes.Equal(all[name], w) {
			t.Errorf("%s: messages=true output differs from protoc-gen-go:\n%s", name, firstDiff(w, all[name]))
		}
	}

	// Parameter errors come back through protoc.
	cmd := exec.Command(protoc, "-I", "testdata/corpus", "--plugin=protoc-gen-skiff="+skiff,
		"--skiff_out="+t.TempDir(), "--skiff_opt=messages=maybe", corpus[0])
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "messages") {
		t.Errorf("messages=maybe: err %v, output %s; want a failure naming the parameter", err, b)
	}
}
