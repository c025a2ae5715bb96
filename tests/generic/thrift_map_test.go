package generictest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/generic"
)

// everythingMap is everythingJSON in map generic form.
func everythingMap() map[string]any {
	return map[string]any{
		"id": "x-1",
		"scalars": map[string]any{"b": true, "by": int8(-128), "s": int16(32767), "i": int32(-2147483648),
			"l": int64(9223372036854775807), "d": 3.25, "str": "héllo \"q\"\n", "bin": []byte{0, 1, 2, 255}, "ms": int64(1700000000000)},
		"containers": map[string]any{
			"ints": []any{int32(1), int32(2), int32(3)}, "names": []any{"a", "b"}, "byName": map[string]any{"k": int64(-1)},
			"byInt": map[any]any{int32(7): "seven", int32(-1): "minus"}, "byLong": map[any]any{int64(9007199254740993): 0.5},
			"byBool": map[any]any{true: "yes"}, "byColor": map[any]any{int32(7): int32(3), int32(1): int32(4)},
			"byPoint": []generic.Pair{{Key: map[string]any{"x": int32(1), "y": int32(2)}, Value: "p"}},
			"nested":  []any{[]any{"a"}, []any{}},
			"groups":  map[string]any{"g": []any{map[string]any{"name": "n", "children": []any{map[string]any{"name": "c"}}}}},
			"points":  []any{map[string]any{"x": int32(0), "y": int32(0)}}, "longs": []any{int64(1), int64(-2)},
			"byDouble": map[any]any{1.5: "x"},
		},
		"inner":       map[string]any{"name": "root"},
		"color":       int32(2),
		"shape":       map[string]any{"point": map[string]any{"x": int32(3), "y": int32(4)}},
		"plain":       "p",
		"withDefault": int32(42),
		"defColor":    int32(2),
		"shapes":      []any{map[string]any{"radius": 1.5}, map[string]any{"label": "l"}},
	}
}

// Go values in, Go values out, through a typed Skiff server. The request
// uses the looser input forms (plain ints, enum names, []string); the
// response has the exact Go types of each Thrift type.
func TestThriftMapRoundTrip(t *testing.T) {
	svr, _ := startAllTypes(t)
	g := generic.ThriftMap(loadIDL(t))
	req := everythingMap()
	req["color"] = "GREEN"
	req["scalars"].(map[string]any)["by"] = -128
	req["containers"].(map[string]any)["names"] = []string{"a", "b"}
	req["containers"].(map[string]any)["byColor"] = map[any]any{"BLUE": 3, int32(1): 4}
	req["containers"].(map[string]any)["byInt"] = map[string]any{"7": "seven", "-1": "minus"} // as encoding/json decodes objects
	delete(req, "withDefault")
	req["opt"] = nil
	for _, tp := range thriftTransports {
		t.Run(tp.Name(), func(t *testing.T) {
			cli := newGenericClient(t, "AllTypes", g, svr.Addr().String(), client.WithTransport(tp))
			ctx := context.Background()
			got, err := cli.Call(ctx, "echo", req)
			if err != nil {
				t.Fatal(err)
			}
			if want := everythingMap(); !reflect.DeepEqual(got, want) {
				t.Fatalf("echo:\n got %#v\nwant %#v", got, want)
			}
			for _, tc := range []struct {
				method   string
				req, out any
			}{
				{"ping", "hi", "pong hi"},
				{"add", map[string]any{"a": 2, "b": int64(40)}, int64(42)},
				{"colors", 2, []any{int32(1), int32(7)}},
				{"points", []any{map[string]any{"x": 1, "y": 1}}, map[any]any{int32(0): map[string]any{"x": int32(1), "y": int32(1)}}},
				{"touch", 3, nil},
			} {
				got, err := cli.Call(ctx, tc.method, tc.req)
				if err != nil || !reflect.DeepEqual(got, tc.out) {
					t.Fatalf("%s: %#v %v, want %#v", tc.method, got, err, tc.out)
				}
			}
			_, err = cli.Call(ctx, "fail", map[string]any{"req": map[string]any{"id": "e"}, "which": 1})
			var x *generic.ExceptionError
			if !errors.As(err, &x) || x.Name != "nf" || !reflect.DeepEqual(x.Value, map[string]any{"what": "e", "code": int32(404)}) {
				t.Fatalf("fail: %v", err)
			}
		})
	}
}
