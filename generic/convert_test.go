package generic_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/generic"
)

func loadIDL(t testing.TB) *generic.ThriftIDL {
	t.Helper()
	idl, err := generic.LoadThriftFile("testdata/all.thrift")
	if err != nil {
		t.Fatal(err)
	}
	return idl
}

func method(t testing.TB, g *generic.Generic, name string) *generic.Method {
	t.Helper()
	m, err := g.Method("AllTypes", name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// normalize re-encodes JSON text with sorted object keys.
func normalize(t testing.TB, s string) string {
	t.Helper()
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

const fullJSON = `{
  "id": "x-1",
  "scalars": {"b": true, "by": -128, "s": 32767, "i": -2147483648, "l": "9223372036854775807",
              "d": 3.25, "str": "h\u00e9llo \"q\"\n", "bin": "AAEC/w==", "ms": 1700000000000},
  "containers": {
    "ints": [1, 2, 3], "names": ["a", "b"], "byName": {"k": -1},
    "byInt": {"7": "seven", "-1": "minus"}, "byLong": {"9007199254740993": 0.5},
    "byBool": {"true": "yes"}, "byColor": {"BLUE": 3, "1": 4},
    "byPoint": [[{"x": 1, "y": 2}, "p"]], "nested": [["a"], []],
    "groups": {"g": [{"name": "n", "children": [{"name": "c"}]}]},
    "points": [{"x": 0, "y": 0}], "longs": [1, "2"], "byDouble": {"1.5": "x"}
  },
  "inner": {"name": "root"},
  "color": "GREEN",
  "shape": {"point": {"x": 3, "y": 4}},
  "opt": null,
  "plain": "p",
  "shapes": [{"radius": 1.5}, {"label": "l"}]
}`

// What the JSON above reads back as: i64 and enums as numbers, keys as
// strings, defaults filled in, null fields left out.
const fullWant = `{
  "id": "x-1",
  "scalars": {"b": true, "by": -128, "s": 32767, "i": -2147483648, "l": 9223372036854775807,
              "d": 3.25, "str": "h\u00e9llo \"q\"\n", "bin": "AAEC/w==", "ms": 1700000000000},
  "containers": {
    "ints": [1, 2, 3], "names": ["a", "b"], "byName": {"k": -1},
    "byInt": {"7": "seven", "-1": "minus"}, "byLong": {"9007199254740993": 0.5},
    "byBool": {"true": "yes"}, "byColor": {"7": 3, "1": 4},
    "byPoint": [[{"x": 1, "y": 2}, "p"]], "nested": [["a"], []],
    "groups": {"g": [{"name": "n", "children": [{"name": "c"}]}]},
    "points": [{"x": 0, "y": 0}], "longs": [1, 2], "byDouble": {"1.5": "x"}
  },
  "inner": {"name": "root"},
  "color": 2,
  "shape": {"point": {"x": 3, "y": 4}},
  "plain": "p",
  "withDefault": 42,
  "defColor": 2,
  "shapes": [{"radius": 1.5}, {"label": "l"}]
}`

func TestJSONRoundTrip(t *testing.T) {
	m := method(t, generic.ThriftJSON(loadIDL(t)), "echo")
	args, err := m.EncodeRequest(nil, fullJSON)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.DecodeRequest(args)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := normalize(t, got.(string)), normalize(t, fullWant); a != b {
		t.Fatalf("round trip:\n got %s\nwant %s", a, b)
	}
	// The response side: the same value as the success of the result.
	res, err := m.EncodeResponse(nil, got)
	if err != nil {
		t.Fatal(err)
	}
	back, err := m.DecodeResponse(res)
	if err != nil || back != got {
		t.Fatalf("response round trip: %v %v\n%s", back, err, got)
	}
}

func TestJSONOptions(t *testing.T) {
	g := generic.ThriftJSON(loadIDL(t), generic.WithI64AsString(), generic.WithEnumNames())
	m := method(t, g, "echo")
	args, err := m.EncodeRequest(nil, `{"id":"a","color":7,"scalars":{"l":5},"containers":{"byLong":{"3":1}}}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.DecodeRequest(args)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"a","scalars":{"b":false,"by":0,"s":0,"i":0,"l":"5","d":0,"str":"","ms":"0"},` +
		`"containers":{"byLong":{"3":1}},"color":"BLUE","withDefault":42,"plain":"","defColor":"GREEN"}`
	_ = want
	s := got.(string)
	for _, part := range []string{`"color":"BLUE"`, `"l":"5"`, `"byLong":{"3":1}`, `"defColor":"GREEN"`} {
		if !strings.Contains(s, part) {
			t.Errorf("%s lacks %s", s, part)
		}
	}
}

func TestMultipleAndNoArguments(t *testing.T) {
	g := generic.ThriftJSON(loadIDL(t))
	add := method(t, g, "add")
	args, err := add.EncodeRequest(nil, `{"a": 1, "b": "2"}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := add.DecodeRequest(args)
	if err != nil || normalize(t, got.(string)) != `{"a":1,"b":2}` {
		t.Fatalf("add args: %v %v", got, err)
	}
	colors := method(t, g, "colors")
	for _, req := range []any{"", "{}", " null ", nil} {
		if args, err := colors.EncodeRequest(nil, req); err != nil || !bytes.Equal(args, []byte{0}) {
			t.Fatalf("colors(%q): %x %v", req, args, err)
		}
	}
	if _, err := colors.EncodeRequest(nil, `{"x":1}`); err == nil {
		t.Fatal("colors accepted an argument")
	}
}

func TestMapRoundTrip(t *testing.T) {
	m := method(t, generic.ThriftMap(loadIDL(t)), "echo")
	req := map[string]any{
		"id": "m",
		"scalars": map[string]any{"b": true, "by": int8(-1), "s": 300, "i": int32(7), "l": int64(1) << 60,
			"d": 0.5, "str": "s", "bin": []byte{0, 255}, "ms": 12},
		"containers": map[string]any{
			"ints":    []any{1, 2},
			"names":   []string{"x"},
			"byInt":   map[any]any{int32(1): "one"},
			"byColor": map[any]any{"RED": 1},
			"byPoint": []generic.Pair{{Key: map[string]any{"x": 1, "y": 2}, Value: "p"}},
			"byBool":  map[string]any{"false": "no"},
		},
		"color": "BLUE",
		"shape": map[string]any{"label": "l"},
	}
	args, err := m.EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.DecodeRequest(args)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": "m",
		"scalars": map[string]any{"b": true, "by": int8(-1), "s": int16(300), "i": int32(7), "l": int64(1) << 60,
			"d": 0.5, "str": "s", "bin": []byte{0, 255}, "ms": int64(12)},
		"containers": map[string]any{
			"ints":    []any{int32(1), int32(2)},
			"names":   []any{"x"},
			"byInt":   map[any]any{int32(1): "one"},
			"byColor": map[any]any{int32(1): int32(1)},
			"byPoint": []generic.Pair{{Key: map[string]any{"x": int32(1), "y": int32(2)}, Value: "p"}},
			"byBool":  map[any]any{false: "no"},
		},
		"color":       int32(7),
		"shape":       map[string]any{"label": "l"},
		"withDefault": int32(42),
		"defColor":    int32(2),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("map round trip:\n got %#v\nwant %#v", got, want)
	}
}

// Bad requests fail with the path of the offending value.
func TestBadRequests(t *testing.T) {
	idl := loadIDL(t)
	jm := method(t, generic.ThriftJSON(idl), "echo")
	for _, tc := range []struct{ in, path, msg string }{
		{`{"id": 5}`, "req.id", "want a string, got a number"},
		{`{"id": "a", "nope": 1}`, "req", `struct Everything has no field "nope"`},
		{`{"scalars": {}}`, "req.id", "required field missing"},
		{`{"id": "a", "scalars": {"s": 32768}}`, "req.scalars.s", "32768 overflows i16"},
		{`{"id": "a", "scalars": {"l": "9223372036854775808"}}`, "req.scalars.l", "overflow"},
		{`{"id": "a", "scalars": {"bin": "!!"}}`, "req.scalars.bin", "invalid base64"},
		{`{"id": "a", "containers": {"ints": [1, "x"]}}`, "req.containers.ints[1]", "want a number (i32), got a string"},
		{`{"id": "a", "containers": {"byInt": {"x": "y"}}}`, `req.containers.byInt["x"]`, "not an integer"},
		{`{"id": "a", "color": "PURPLE"}`, "req.color", `no value named "PURPLE"`},
		{`{"id": "a", "color": 2147483648}`, "req.color", "overflows"},
		{`{"id": "a", "shape": {"radius": 1, "label": "x"}}`, "req.shape", "want at most one"},
		{`{"id": "a", "containers": {"byPoint": [[{"x": 1}, "p"]]}}`, "req.containers.byPoint[0].y", "required field missing"},
		{`{"id": "a"} x`, "", "after the value"},
		{`{"id": "a", "scalars": {"by": 1.5}}`, "req.scalars.by", "not an integer"},
	} {
		_, err := jm.EncodeRequest(nil, tc.in)
		var ge *generic.Error
		if !errors.As(err, &ge) || ge.Path != tc.path || !strings.Contains(ge.Msg, tc.msg) {
			t.Errorf("%s: got %v; want path %q and %q", tc.in, err, tc.path, tc.msg)
		}
	}
	mm := method(t, generic.ThriftMap(idl), "echo")
	for _, tc := range []struct {
		in        map[string]any
		path, msg string
	}{
		{map[string]any{"id": 5}, "req.id", "want a string, got int"},
		{map[string]any{"id": "a", "nope": 1}, "req.nope", "no field"},
		{map[string]any{"scalars": map[string]any{}}, "req.id", "required field missing"},
		{map[string]any{"id": "a", "scalars": map[string]any{"by": 200}}, "req.scalars.by", "200 overflows byte"},
		{map[string]any{"id": "a", "scalars": map[string]any{"bin": 3}}, "req.scalars.bin", "want []byte"},
		{map[string]any{"id": "a", "containers": map[string]any{"ints": []any{1, "x"}}}, "req.containers.ints[1]", "got a string"},
	} {
		_, err := mm.EncodeRequest(nil, tc.in)
		var ge *generic.Error
		if !errors.As(err, &ge) || ge.Path != tc.path || !strings.Contains(ge.Msg, tc.msg) {
			t.Errorf("%v: got %v; want path %q and %q", tc.in, err, tc.path, tc.msg)
		}
	}
}

func TestExceptionResponse(t *testing.T) {
	for _, g := range []*generic.Generic{generic.ThriftJSON(loadIDL(t)), generic.ThriftMap(loadIDL(t))} {
		m := method(t, g, "fail")
		var val any = `{"what":"w","code":4}`
		if g.String() == "Thrift map" {
			val = map[string]any{"what": "w", "code": int32(4)}
		}
		res, err := m.EncodeResponse(nil, &generic.ExceptionError{Name: "inv", Value: val})
		if err == nil {
			t.Fatal("inv accepted a NotFound-shaped value")
		}
		res, err = m.EncodeResponse(nil, &generic.ExceptionError{Name: "nf", Value: val})
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.DecodeResponse(res)
		var x *generic.ExceptionError
		if !errors.As(err, &x) || x.Name != "nf" || !reflect.DeepEqual(x.Value, val) {
			t.Fatalf("%v: decoded %#v", g, err)
		}
	}
}

// Double map keys that JSON numbers cannot hold read back as strings that
// convert again.
func TestDoubleKeysSpecialValues(t *testing.T) {
	m := method(t, generic.ThriftJSON(loadIDL(t)), "echo")
	args, err := m.EncodeRequest(nil, `{"id": "a", "containers": {"byDouble": {"NaN": "n", "-Infinity": "m", "1e300": "big"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	js, err := m.DecodeRequest(args)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.EncodeRequest(nil, js); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	for _, k := range []string{`"NaN":"n"`, `"-Infinity":"m"`, `"1e+300":"big"`} {
		if !strings.Contains(js.(string), k) {
			t.Errorf("%s lacks %s", js, k)
		}
	}
}
