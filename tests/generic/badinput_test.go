package generictest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/generic"
	"github.com/skiffrpc/skiff/tests/generic/gen/alltypes"
)

// Bad requests fail with an *generic.Error naming the field path, before
// anything is sent: neither the client's middleware nor the server sees
// them.
func TestBadInputNothingSent(t *testing.T) {
	srvCount := &counter{}
	h := newAllTypes()
	svr := startServer(t, func(s *server.Server) error { return alltypes.RegisterAllTypes(s, h) },
		server.WithMiddleware(srvCount.middleware))
	cliCount := &counter{}
	idl := loadIDL(t)
	jsonCli := newGenericClient(t, "AllTypes", generic.ThriftJSON(idl), svr.Addr().String(),
		client.WithMiddleware(endpoint.Middleware(cliCount.middleware)))
	mapCli := newGenericClient(t, "AllTypes", generic.ThriftMap(idl), svr.Addr().String(),
		client.WithMiddleware(endpoint.Middleware(cliCount.middleware)))
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		cli       *generic.Client
		req       any
		path, msg string
	}{
		{"json wrong type", jsonCli, `{"id": "a", "scalars": {"i": "12"}}`, "req.scalars.i", "want a number (i32), got a string"},
		{"json wrong type in list", jsonCli, `{"id": "a", "containers": {"names": ["a", 1]}}`, "req.containers.names[1]", "want a string, got a number"},
		{"json unknown field", jsonCli, `{"id": "a", "inner": {"name": "n", "nmae": "typo"}}`, "req.inner", `struct Inner has no field "nmae"`},
		{"json missing required", jsonCli, `{"id": "a", "shape": {"point": {"x": 1}}}`, "req.shape.point.y", "required field missing"},
		{"json overflow", jsonCli, `{"id": "a", "scalars": {"by": 128}}`, "req.scalars.by", "128 overflows byte"},
		{"json overflow i64", jsonCli, `{"id": "a", "scalars": {"l": 9223372036854775808}}`, "req.scalars.l", "overflows i64"},
		{"json overflow map key", jsonCli, `{"id": "a", "containers": {"byInt": {"2147483648": "x"}}}`, `req.containers.byInt["2147483648"]`, "overflows i32"},
		{"json invalid base64", jsonCli, `{"id": "a", "scalars": {"bin": "not base64!"}}`, "req.scalars.bin", "invalid base64"},
		{"json malformed", jsonCli, `{"id": "a", `, "req", "want a field name, got end of input"},
		{"map wrong type", mapCli, map[string]any{"id": "a", "scalars": map[string]any{"b": "yes"}}, "req.scalars.b", "want a bool, got string"},
		{"map unknown field", mapCli, map[string]any{"id": "a", "nope": 1}, "req.nope", `struct Everything has no field "nope"`},
		{"map missing required", mapCli, map[string]any{"inner": map[string]any{}}, "req.id", "required field missing"},
		{"map overflow", mapCli, map[string]any{"id": "a", "scalars": map[string]any{"s": 1 << 20}}, "req.scalars.s", "1048576 overflows i16"},
		{"map wrong binary", mapCli, map[string]any{"id": "a", "scalars": map[string]any{"bin": 5}}, "req.scalars.bin", "want []byte (binary), got int"},
	} {
		_, err := tc.cli.Call(ctx, "echo", tc.req)
		var ge *generic.Error
		if !errors.As(err, &ge) || ge.Path != tc.path || !strings.Contains(ge.Msg, tc.msg) {
			t.Errorf("%s: got %v; want path %q and %q", tc.name, err, tc.path, tc.msg)
			continue
		}
		if !strings.HasPrefix(err.Error(), "generic: "+tc.path+": ") {
			t.Errorf("%s: message %q does not start with the path", tc.name, err)
		}
	}
	if n := cliCount.n.Load() + srvCount.n.Load(); n != 0 {
		t.Fatalf("%d bad requests went out", n)
	}
	// The same clients still work.
	if _, err := jsonCli.Call(ctx, "echo", `{"id": "ok"}`); err != nil {
		t.Fatal(err)
	}
	if srvCount.n.Load() != 1 {
		t.Fatal("the good request did not reach the server")
	}
}
