package generic_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/generic"
)

func TestParseThriftWithIncludes(t *testing.T) {
	idl, err := generic.ParseThrift("svc/main.thrift",
		"include \"../common/types.thrift\"\nservice S { types.T get(1: types.T t) }\n",
		map[string]string{"common/types.thrift": "struct T { 1: string s }\n"})
	if err != nil {
		t.Fatal(err)
	}
	if got := idl.Services(); !reflect.DeepEqual(got, []string{"S"}) {
		t.Fatalf("services %v", got)
	}
	if got := idl.Methods("S"); !reflect.DeepEqual(got, []string{"get"}) {
		t.Fatalf("methods %v", got)
	}
	m, err := generic.ThriftJSON(idl).Method("", "get")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.EncodeRequest(nil, `{"s":"x"}`); err != nil {
		t.Fatal(err)
	}
}

func TestLoadThriftFile(t *testing.T) {
	idl := loadIDL(t)
	want := []string{"add", "colors", "echo", "fail", "mid", "notify", "ping", "points", "touch"}
	if got := idl.Methods("AllTypes"); !reflect.DeepEqual(got, want) {
		t.Fatalf("methods %v, want %v (extends included)", got, want)
	}
	if _, err := generic.LoadThriftFile("testdata/none.thrift"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
}

// A malformed IDL gives file:line:col.
func TestMalformedIDL(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		inc       map[string]string
		want      string
	}{
		{"syntax", "struct A {\n  1: i32 x\n  2: list< y\n}\n", nil, "a.thrift:4:1: syntax error"},
		{"unknown type", "struct A {\n  1: i32 x\n  2: Nope y\n}\nservice S { A f() }\n", nil, "a.thrift:3:6: unknown type Nope"},
		{"missing include", "namespace go a\ninclude \"b.thrift\"\n", nil, `a.thrift:2:9: include "b.thrift" not found`},
		{"in include", "include \"b.thrift\"\nservice S { b.B f() }\n", map[string]string{"b.thrift": "struct B {\n 1: Bad x\n}\n"}, "b.thrift:2:5: unknown type Bad"},
		{"extends", "service S extends Nope {}\n", nil, "a.thrift:1:19: service S extends unknown service Nope"},
	} {
		_, err := generic.ParseThrift("a.thrift", tc.src, tc.inc)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
