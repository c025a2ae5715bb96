package thriftgen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// TestGoTag: a field's go.tag annotation goes into its struct tag after the
// thrift tag and replaces the json tag, as Kitex (thriftgo) writes it; a
// double-quoted annotation with escaped quotes gives the same tag.
func TestGoTag(t *testing.T) {
	dir := t.TempDir()
	idl := filepath.Join(dir, "tags.thrift")
	src := `namespace go tags
struct User {
    1: required i64 id (go.tag = 'json:"user_id,string" db:"uid"')
    2: optional string name (go.tag = "json:\"nick\" form:\"name\"")
    3: string plain
    4: optional string hidden (go.tag = 'json:"-"')
}
`
	if err := os.WriteFile(idl, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := Generate(Options{Files: []string{idl}, Module: "example.com/x"})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]reflect.StructTag{}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", files[0].Content, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "User" {
			return true
		}
		for _, fl := range ts.Type.(*ast.StructType).Fields.List {
			s, err := strconv.Unquote(fl.Tag.Value)
			if err != nil {
				t.Fatal(err)
			}
			tags[fl.Names[0].Name] = reflect.StructTag(s)
		}
		return false
	})
	for _, c := range []struct{ field, key, want string }{
		{"Id", "thrift", "id,1,required"}, {"Id", "json", "user_id,string"}, {"Id", "db", "uid"},
		{"Name", "thrift", "name,2,optional"}, {"Name", "json", "nick"}, {"Name", "form", "name"},
		{"Plain", "json", "plain"}, {"Hidden", "json", "-"},
	} {
		if got := tags[c.field].Get(c.key); got != c.want {
			t.Errorf("%s tag %s = %q, want %q (tag %q)", c.field, c.key, got, c.want, tags[c.field])
		}
	}
}
