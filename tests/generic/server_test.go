package generictest_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/generic"
	"github.com/skiffrpc/skiff/tests/generic/gen/alltypes"
	"github.com/skiffrpc/skiff/tests/generic/gen/base"
)

// A JSON and a map generic server serve AllTypes to the typed client: one
// handler, the method named, requests and responses in generic form,
// declared exceptions as *ExceptionError, oneway calls delivered.
func TestThriftGenericServer(t *testing.T) {
	idl := loadIDL(t)
	type call struct {
		method string
		req    any
	}
	for _, tc := range []struct {
		name string
		g    *generic.Generic
		h    func(method string, req any) (any, error)
	}{
		{"json", generic.ThriftJSON(idl), func(method string, req any) (any, error) {
			switch method {
			case "echo":
				return req, nil
			case "fail":
				return nil, &generic.ExceptionError{Name: "nf", Value: `{"what": "json", "code": 1}`}
			case "add":
				if normalize(t, req.(string)) != `{"a":1,"b":2}` {
					return nil, status.Errorf(status.InvalidArgument, "add got %s", req)
				}
				return `3`, nil
			case "colors":
				return `["RED", 7]`, nil
			case "points":
				return []byte(`{"5": {"x": 5, "y": 5}}`), nil
			case "mid":
				return nil, status.New(status.PermissionDenied, "no mid for you")
			}
			return nil, nil
		}},
		{"map", generic.ThriftMap(idl), func(method string, req any) (any, error) {
			switch method {
			case "echo":
				return req, nil
			case "fail":
				return nil, &generic.ExceptionError{Name: "nf", Value: map[string]any{"what": "map", "code": 1}}
			case "add":
				m := req.(map[string]any)
				return int64(m["a"].(int32)) + m["b"].(int64), nil
			case "colors":
				return []any{"RED", int32(7)}, nil
			case "points":
				return map[any]any{int32(5): map[string]any{"x": 5, "y": 5}}, nil
			case "mid":
				return nil, status.New(status.PermissionDenied, "no mid for you")
			}
			return nil, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []call
			notes := make(chan any, 4)
			h := func(_ context.Context, method string, req any) (any, error) {
				if method == "notify" {
					notes <- req
					return nil, nil
				}
				mu.Lock()
				seen = append(seen, call{method, req})
				mu.Unlock()
				return tc.h(method, req)
			}
			svr := startServer(t, func(s *server.Server) error { return generic.RegisterService(s, "AllTypes", tc.g, h) })
			for _, tp := range thriftTransports {
				cli, err := client.New(alltypes.AllTypesServiceInfo(), client.WithHostPorts(svr.Addr().String()),
					client.WithTransport(tp), client.WithLogger(quiet), client.WithRPCTimeout(5*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				at := alltypes.NewAllTypesClient(cli)
				ctx := context.Background()
				req := everything()
				got, err := at.Echo(ctx, req)
				if err != nil || got.Id != req.Id || *got.Color != *req.Color || *got.Shape.Radius != *req.Shape.Radius ||
					!reflect.DeepEqual(got.Containers.Ints, req.Containers.Ints) || len(got.Containers.ByPoint) != 1 {
					t.Fatalf("%s: Echo: %+v %v", tp.Name(), got, err)
				}
				_, err = at.Fail(ctx, req, 1)
				var nf *alltypes.NotFound
				if !errors.As(err, &nf) || nf.What != tc.name || nf.Code != 1 {
					t.Fatalf("%s: Fail: %v", tp.Name(), err)
				}
				if n, err := at.Add(ctx, 1, 2); err != nil || n != 3 {
					t.Fatalf("%s: Add: %d %v", tp.Name(), n, err)
				}
				if cs, err := at.Colors(ctx, 2); err != nil || !reflect.DeepEqual(cs, []base.Color{base.Color_RED, base.Color_BLUE}) {
					t.Fatalf("%s: Colors: %v %v", tp.Name(), cs, err)
				}
				if ps, err := at.Points(ctx, nil); err != nil || len(ps) != 1 || ps[5].X != 5 {
					t.Fatalf("%s: Points: %v %v", tp.Name(), ps, err)
				}
				_, err = at.Mid(ctx, &base.Point{}, &base.Point{})
				if status.CodeOf(err) != status.PermissionDenied {
					t.Fatalf("%s: Mid: %v", tp.Name(), err)
				}
				if err := at.Touch(ctx, 1); err != nil {
					t.Fatalf("%s: Touch: %v", tp.Name(), err)
				}
				if err := at.Notify(ctx, "n"); err != nil {
					t.Fatal(err)
				}
				select {
				case n := <-notes:
					if n != "n" && n != `"n"` {
						t.Fatalf("%s: Notify delivered %#v", tp.Name(), n)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: Notify did not arrive", tp.Name())
				}
				_ = cli.Close()
			}
		})
	}
}

// A binary generic server serves the IDL's methods from raw args structs.
func TestThriftBinaryServer(t *testing.T) {
	h := func(_ context.Context, method string, req any) (any, error) {
		var args alltypes.BasePingArgs
		if method != "ping" {
			return nil, status.Errorf(status.Unimplemented, "only ping")
		}
		if _, err := args.FastRead(req.([]byte)); err != nil {
			return nil, err
		}
		s := "raw " + args.Msg
		return (&alltypes.BasePingResult{Success: &s}).FastAppend(nil), nil
	}
	svr := startServer(t, func(s *server.Server) error {
		return generic.RegisterService(s, "AllTypes", generic.ThriftBinary(loadIDL(t)), h)
	})
	cli, err := client.New(alltypes.AllTypesServiceInfo(), client.WithHostPorts(svr.Addr().String()), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if got, err := alltypes.NewAllTypesClient(cli).Ping(context.Background(), "x"); err != nil || got != "raw x" {
		t.Fatalf("Ping: %q %v", got, err)
	}
}
