package thriftgen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/tool/thriftgen"
)

// TestHolderOfRecursiveTypeIsBounded: a struct that holds a recursive type
// (as every service argument wrapper of one does) checks the nesting depth
// before decoding, like the recursive type itself; so does a service
// wrapper around it.
func TestHolderOfRecursiveTypeIsBounded(t *testing.T) {
	idl := filepath.Join(t.TempDir(), "rec.thrift")
	src := `namespace go rec
struct Node { 1: optional Node next }
struct Holder { 1: Node n }
struct Plain { 1: string s }
service S { Holder Get(1: Holder h) }
`
	if err := os.WriteFile(idl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := thriftgen.Generate(thriftgen.Options{Files: []string{idl}, Module: "example.com/x"})
	if err != nil || len(files) != 1 {
		t.Fatalf("Generate = %d files, %v", len(files), err)
	}
	code := string(files[0].Content)
	check := "thriftcodec.Skip(b, thriftcodec.TypeStruct, thriftcodec.MaxDepth)"
	for _, typ := range []string{"Node", "Holder", "SGetArgs", "SGetResult"} {
		if !strings.Contains(fastRead(code, typ), check) {
			t.Errorf("%s.FastRead does not bound the nesting depth", typ)
		}
	}
	if strings.Contains(fastRead(code, "Plain"), check) {
		t.Error("Plain.FastRead checks a depth it cannot have")
	}
}

// fastRead returns the source of typ's FastRead method.
func fastRead(code, typ string) string {
	start := strings.Index(code, "func (p *"+typ+") FastRead(")
	if start < 0 {
		return ""
	}
	end := strings.Index(code[start:], "\n}\n")
	return code[start : start+end]
}
