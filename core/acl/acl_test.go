package acl_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/skiffrpc/skiff/core/acl"
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var errNotAllowed = errors.New("caller not allowed")

// onlyCaller lets through the calls of the named caller.
func onlyCaller(name string) acl.RejectFunc {
	return func(ctx context.Context, _ any) error {
		if callinfo.From(ctx).Caller != name {
			return errNotAllowed
		}
		return nil
	}
}

func TestMiddleware(t *testing.T) {
	var calls atomic.Int32
	next := func(context.Context, any, any) error { calls.Add(1); return nil }
	deny := func(context.Context, any) error { return errNotAllowed }
	allow := func(context.Context, any) error { return nil }
	denied := status.New(status.PermissionDenied, "tenant suspended")
	for _, tc := range []struct {
		name   string
		rules  []acl.RejectFunc
		reject bool
	}{
		{"no rules", nil, false},
		{"allowed", []acl.RejectFunc{allow, allow}, false},
		{"first rejects", []acl.RejectFunc{deny, allow}, true},
		{"last rejects", []acl.RejectFunc{allow, deny}, true},
		{"own status", []acl.RejectFunc{func(context.Context, any) error { return denied }}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			err := acl.Middleware(tc.rules...)(next)(context.Background(), nil, nil)
			if !tc.reject {
				if err != nil || calls.Load() != 1 {
					t.Fatalf("err %v, next called %d times", err, calls.Load())
				}
				return
			}
			if calls.Load() != 0 {
				t.Error("next was called for a rejected call")
			}
			if status.CodeOf(err) != status.PermissionDenied {
				t.Errorf("code %v, want PermissionDenied (%v)", status.CodeOf(err), err)
			}
			if tc.name == "own status" {
				if err != error(denied) {
					t.Errorf("a PermissionDenied reason was not returned as it is: %v", err)
				}
			} else if !errors.Is(err, errNotAllowed) || err.Error() != "permission_denied: acl: caller not allowed" {
				t.Errorf("rejection %q does not wrap the reason", err)
			}
		})
	}
}

// TestServerAndClient: on a real server and client, a server rule rejects
// callers other than "friend" without invoking the handler; a client rule
// rejects before anything is sent.
func TestServerAndClient(t *testing.T) {
	var handled atomic.Int32
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithMiddleware(acl.Middleware(onlyCaller("friend"))))
	if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(func(_ context.Context, in []byte) ([]byte, error) {
		handled.Add(1)
		return in, nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	defer svr.Stop()
	call := func(caller string, opts ...client.Option) error {
		cli, err := client.New(toycodec.Service(), append(opts, client.WithHostPorts(svr.Addr().String()), client.WithCaller(caller))...)
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		var out toycodec.Bytes
		return cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("x")}, &out)
	}
	// Framed carries no caller name: the server sees none and rejects.
	if err := call("friend"); err == nil {
		t.Error("a caller the server cannot name was let through")
	}
	if handled.Load() != 0 {
		t.Errorf("the handler ran %d times for rejected calls", handled.Load())
	}

	var sent atomic.Int32
	err := call("stranger", client.WithMiddleware(acl.Middleware(onlyCaller("friend"))),
		client.WithInstanceMiddleware(func(next endpoint.Endpoint) endpoint.Endpoint {
			return func(ctx context.Context, req, resp any) error { sent.Add(1); return next(ctx, req, resp) }
		}))
	if status.CodeOf(err) != status.PermissionDenied || !errors.Is(err, errNotAllowed) {
		t.Errorf("client rule: %v", err)
	}
	if sent.Load() != 0 {
		t.Error("a call the client's rule rejected reached the instance middleware")
	}
}

// A server rule that lets through only the callers it knows.
func ExampleMiddleware() {
	known := map[string]bool{"checkout": true}
	rule := func(ctx context.Context, _ any) error {
		if ci := callinfo.From(ctx); !known[ci.Caller] {
			return fmt.Errorf("unknown caller %q", ci.Caller)
		}
		return nil
	}
	ep := acl.Middleware(rule)(func(context.Context, any, any) error { return nil })

	ci := callinfo.New(context.Background())
	ci.Caller = "checkout"
	fmt.Println(ep(ci, nil, nil))
	ci = callinfo.New(context.Background())
	ci.Caller = "scraper"
	err := ep(ci, nil, nil)
	fmt.Println(err, status.CodeOf(err) == status.PermissionDenied)
	// Output:
	// <nil>
	// permission_denied: acl: unknown caller "scraper" true
}
