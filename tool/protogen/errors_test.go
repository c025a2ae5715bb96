package protogen_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/tool/protogen"
)

// TestBadProto checks that malformed .proto files give errors at
// file:line:col, naming the file on disk, and no output.
func TestBadProto(t *testing.T) {
	cases := []struct {
		name, src  string
		line, col  int
		msgContain string
	}{
		{"syntax", "syntax = \"proto3\";\n\nmessage A {\n  int32 x = ;\n}\n", 4, 13, "syntax error"},
		{"unknown_type", "syntax = \"proto3\";\npackage p;\nmessage A {\n  Missing m = 1;\n}\n", 4, 3, "Missing"},
		{"missing_import", "syntax = \"proto3\";\nimport \"nope/nope.proto\";\n", 2, 8, "nope/nope.proto"},
		{"duplicate_field", "syntax = \"proto3\";\nmessage A {\n  int32 x = 1;\n  int32 y = 1;\n}\n", 4, 13, "same tag 1"},
		{"bad_service", "syntax = \"proto3\";\nmessage A {}\nservice S {\n  rpc M(A) returns (B);\n}\n", 4, 21, "B"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, c.name+".proto")
			if err := os.WriteFile(file, []byte(c.src), 0o644); err != nil {
				t.Fatal(err)
			}
			files, err := protogen.Generate(protogen.Options{Files: []string{file}, Module: "example.com/x"})
			if err == nil || files != nil {
				t.Fatalf("Generate = %d files, %v; want an error and no files", len(files), err)
			}
			var pe *protogen.PosError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *PosError", err, err)
			}
			if pe.File != file || pe.Line != c.line || pe.Col != c.col || !strings.Contains(pe.Msg, c.msgContain) {
				t.Errorf("error at %s:%d:%d %q, want %s:%d:%d containing %q", pe.File, pe.Line, pe.Col, pe.Msg, file, c.line, c.col, c.msgContain)
			}
			if !strings.HasPrefix(err.Error(), file+":") {
				t.Errorf("error text %q does not start with the file", err)
			}
			if _, err := protogen.Scaffold(protogen.ScaffoldOptions{IDL: file, Module: "example.com/x"}); !errors.As(err, &pe) {
				t.Errorf("Scaffold: error %v, want a *PosError", err)
			}
		})
	}
}

// TestBadOptions checks errors that are not in a .proto file.
func TestBadOptions(t *testing.T) {
	if _, err := protogen.Generate(protogen.Options{}); err == nil {
		t.Error("no files: no error")
	}
	if _, err := protogen.Generate(protogen.Options{Files: []string{"testdata/corpus/common/common.proto"}, ImportPaths: []string{"testdata/run"}}); err == nil ||
		!strings.Contains(err.Error(), "not in any import path") {
		t.Errorf("file outside the import paths: %v", err)
	}
	if _, err := protogen.Generate(protogen.Options{Files: []string{"testdata/nonexistent.proto"}}); err == nil {
		t.Error("missing file: no error")
	}
	// A file without go_package needs Module (or GoPackages), as with
	// protoc-gen-go.
	if _, err := protogen.Generate(protogen.Options{Files: []string{"testdata/run/types.proto", "testdata/run/echo.proto"}}); err == nil ||
		!strings.Contains(err.Error(), "echo.proto") {
		t.Errorf("no Go package: %v", err)
	}
	if _, err := protogen.Scaffold(protogen.ScaffoldOptions{IDL: "testdata/run/types.proto", Module: "example.com/x"}); err == nil ||
		!strings.Contains(err.Error(), "no service") {
		t.Errorf("Scaffold without a service: %v", err)
	}
	if _, err := protogen.Generate(protogen.Options{Files: []string{"testdata/run/echo.proto"}, Module: "example.com/x", SourceRelative: true}); err == nil {
		t.Error("Module with SourceRelative: no error")
	}
}

// TestNameClash checks that a Go name the service code would declare twice
// in a package is an error, not code that does not compile.
func TestNameClash(t *testing.T) {
	cases := map[string]string{
		"message":    "syntax = \"proto3\";\nmessage EchoClient {}\nmessage R {}\nservice Echo { rpc M(R) returns (R); }\n",
		"deprecated": "syntax = \"proto3\";\nmessage EchoSkiffClient {}\nmessage R {}\nservice Echo { rpc M(R) returns (R); }\n",
		"args":       "syntax = \"proto3\";\nmessage EchoMArgs {}\nmessage R {}\nservice Echo { rpc M(R) returns (R); }\n",
		"two services": "syntax = \"proto3\";\nmessage R {}\nservice A { rpc BC(R) returns (R); }\n" +
			"service AB { rpc C(R) returns (R); }\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "clash.proto")
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			files, err := protogen.Generate(protogen.Options{Files: []string{file}, Module: "example.com/x"})
			if err == nil || files != nil || !strings.Contains(err.Error(), "also declared") {
				t.Errorf("Generate = %d files, %v; want a name clash error", len(files), err)
			}
		})
	}
}

// TestPaths checks where files go: under Module by go_package, next to the
// .proto with SourceRelative, and by GoPackages over go_package.
func TestPaths(t *testing.T) {
	paths := func(o protogen.Options) []string {
		t.Helper()
		files, err := protogen.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range files {
			out = append(out, f.Path)
		}
		return out
	}
	in := []string{"testdata/corpus/common/common.proto", "testdata/corpus/legacy/legacy.proto"}
	cases := []struct {
		o    protogen.Options
		want string
	}{
		{protogen.Options{Files: in, ImportPaths: []string{"testdata/corpus"}, Module: corpusModule},
			"common/common.pb.go legacy/legacy.pb.go legacy/legacy_skiff.pb.go"},
		{protogen.Options{Files: in, ImportPaths: []string{"testdata/corpus"}},
			"example.com/gen/common/common.pb.go example.com/gen/legacy/legacy.pb.go example.com/gen/legacy/legacy_skiff.pb.go"},
		{protogen.Options{Files: in, ImportPaths: []string{"testdata/corpus"}, SourceRelative: true},
			"common/common.pb.go legacy/legacy.pb.go legacy/legacy_skiff.pb.go"},
		{protogen.Options{Files: []string{"common/common.proto"}, ImportPaths: []string{"testdata/corpus"}, Module: corpusModule,
			GoPackages: map[string]string{"common/common.proto": corpusModule + "/x/y;y"}},
			"x/y/common.pb.go"},
		// Without import paths, each file's directory is one.
		{protogen.Options{Files: []string{"testdata/corpus/common/common.proto"}, Module: corpusModule},
			"common/common.pb.go"},
	}
	for i, c := range cases {
		if got := strings.Join(paths(c.o), " "); got != c.want {
			t.Errorf("case %d: paths %q, want %q", i, got, c.want)
		}
	}
}
