package generictest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/generic"
)

// everythingJSON sets every field of Everything, with every Thrift type:
// i64 as a number and as a string, binary as base64, enums by name and by
// number, maps keyed by strings, integers, i64, bools, enums, doubles and
// structs (the last as [key, value] pairs), nested structs, unions, and a
// null optional field (left out).
const everythingJSON = `{
  "id": "x-1",
  "scalars": {"b": true, "by": -128, "s": 32767, "i": -2147483648, "l": "9223372036854775807",
              "d": 3.25, "str": "h\u00e9llo \"q\"\n", "bin": "AAEC/w==", "ms": 1700000000000},
  "containers": {
    "ints": [1, 2, 3], "names": ["a", "b"], "byName": {"k": -1},
    "byInt": {"7": "seven", "-1": "minus"}, "byLong": {"9007199254740993": 0.5},
    "byBool": {"true": "yes"}, "byColor": {"BLUE": 3, "1": 4},
    "byPoint": [[{"x": 1, "y": 2}, "p"]], "nested": [["a"], []],
    "groups": {"g": [{"name": "n", "children": [{"name": "c"}]}]},
    "points": [{"x": 0, "y": 0}], "longs": [1, "-2"], "byDouble": {"1.5": "x"}
  },
  "inner": {"name": "root"},
  "color": "GREEN",
  "shape": {"point": {"x": 3, "y": 4}},
  "opt": null,
  "plain": "p",
  "shapes": [{"radius": 1.5}, {"label": "l"}]
}`

// everythingBack is what the typed server sends back: i64 and enums as
// numbers, default fields written with their IDL defaults.
const everythingBack = `{
  "id": "x-1",
  "scalars": {"b": true, "by": -128, "s": 32767, "i": -2147483648, "l": 9223372036854775807,
              "d": 3.25, "str": "h\u00e9llo \"q\"\n", "bin": "AAEC/w==", "ms": 1700000000000},
  "containers": {
    "ints": [1, 2, 3], "names": ["a", "b"], "byName": {"k": -1},
    "byInt": {"7": "seven", "-1": "minus"}, "byLong": {"9007199254740993": 0.5},
    "byBool": {"true": "yes"}, "byColor": {"7": 3, "1": 4},
    "byPoint": [[{"x": 1, "y": 2}, "p"]], "nested": [["a"], []],
    "groups": {"g": [{"name": "n", "children": [{"name": "c"}]}]},
    "points": [{"x": 0, "y": 0}], "longs": [1, -2], "byDouble": {"1.5": "x"}
  },
  "inner": {"name": "root"},
  "color": 2,
  "shape": {"point": {"x": 3, "y": 4}},
  "plain": "p",
  "withDefault": 42,
  "defColor": 2,
  "shapes": [{"radius": 1.5}, {"label": "l"}]
}`

// JSON in, JSON out, through a typed Skiff server, on every Thrift
// transport.
func TestThriftJSONRoundTrip(t *testing.T) {
	svr, h := startAllTypes(t)
	g := generic.ThriftJSON(loadIDL(t))
	cases := []struct{ method, req, want string }{
		{"echo", everythingJSON, everythingBack},
		{"echo", `{"id": "min"}`, `{"id": "min", "withDefault": 42, "plain": "", "defColor": 2}`},
		{"echo", `{"id": "d", "withDefault": 7, "defColor": "RED", "scalars": {}}`,
			// The typed server writes every default-requiredness field, unset ones
			// as zero values.
			`{"id": "d", "withDefault": 7, "plain": "", "defColor": 1, "scalars": {"b": false, "by": 0, "s": 0, "i": 0, "l": 0, "d": 0, "str": "", "bin": "", "ms": 0}}`},
		{"ping", `"hi"`, `"pong hi"`},
		{"add", `{"a": 2, "b": "40"}`, `42`},
		{"mid", `{"a": {"x": 0, "y": 0}, "b": {"x": 4, "y": 8}}`, `{"x": 2, "y": 4}`},
		{"colors", `2`, `[1, 7]`},
		{"points", `[{"x": 1, "y": 1}, {"x": 2, "y": 2}]`, `{"0": {"x": 1, "y": 1}, "1": {"x": 2, "y": 2}}`},
		{"fail", `{"req": {"id": "ok"}, "which": 0}`, `{"id": "ok", "withDefault": 42, "plain": "", "defColor": 2}`},
	}
	for _, tp := range thriftTransports {
		t.Run(tp.Name(), func(t *testing.T) {
			cli := newGenericClient(t, "AllTypes", g, svr.Addr().String(), client.WithTransport(tp))
			ctx := context.Background()
			for _, tc := range cases {
				got, err := cli.Call(ctx, tc.method, tc.req)
				if err != nil {
					t.Fatalf("%s(%s): %v", tc.method, tc.req, err)
				}
				if a, b := normalize(t, got.(string)), normalize(t, tc.want); a != b {
					t.Fatalf("%s:\n got %s\nwant %s", tc.method, a, b)
				}
			}
			// A void method answers "".
			if got, err := cli.Call(ctx, "touch", `5`); err != nil || got != "" {
				t.Fatalf("touch: %q %v", got, err)
			}
			// A oneway method is sent as oneway: no reply awaited.
			if got, err := cli.Call(ctx, "notify", `"note"`); err != nil || got != nil {
				t.Fatalf("notify: %v %v", got, err)
			}
			select {
			case n := <-h.notes:
				if n != "note" {
					t.Fatalf("notify delivered %q", n)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("notify did not arrive")
			}
			// Declared exceptions come back as *ExceptionError with the
			// exception's JSON.
			for _, tc := range []struct{ which, name, value string }{
				{"1", "nf", `{"what": "e", "code": 404}`},
				{"2", "inv", `{"reason": "bad e"}`},
			} {
				_, err := cli.Call(ctx, "fail", `{"req": {"id": "e"}, "which": `+tc.which+`}`)
				var x *generic.ExceptionError
				if !errors.As(err, &x) || x.Name != tc.name || normalize(t, x.Value.(string)) != normalize(t, tc.value) {
					t.Fatalf("fail(%s): %v", tc.which, err)
				}
			}
		})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.touched) != len(thriftTransports) {
		t.Fatalf("touch reached the server %d times", len(h.touched))
	}
}

// The JSON output options: i64 as strings, enums by name.
func TestThriftJSONOutputOptions(t *testing.T) {
	svr, _ := startAllTypes(t)
	g := generic.ThriftJSON(loadIDL(t), generic.WithI64AsString(), generic.WithEnumNames())
	cli := newGenericClient(t, "AllTypes", g, svr.Addr().String())
	got, err := cli.Call(context.Background(), "echo", `{"id": "o", "color": 7, "scalars": {"l": 9007199254740993}, "containers": {"byColor": {"GREEN": 1}}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id": "o", "color": "BLUE", "withDefault": 42, "plain": "", "defColor": "GREEN",
	  "scalars": {"b": false, "by": 0, "s": 0, "i": 0, "l": "9007199254740993", "d": 0, "str": "", "bin": "", "ms": "0"},
	  "containers": {"byColor": {"2": 1}, "ints": [], "names": [], "byName": {}, "byInt": {}, "byLong": {}, "byBool": {},
	    "byPoint": [], "nested": [], "groups": {}, "points": [], "longs": [], "byDouble": {}}}`
	if a, b := normalize(t, got.(string)), normalize(t, want); a != b {
		t.Fatalf("\n got %s\nwant %s", a, b)
	}
}
