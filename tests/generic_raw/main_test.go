package genericraw_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// recorder is a server middleware and tracer that records, per call, the
// service and method of its call info and the types it sees.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// wait takes the records once there are n of them, or after five
// seconds: a tracer may finish after the client has its reply (gRPC
// finishes once the trailers are written).
func (r *recorder) wait(n int) []string {
	var got []string
	for deadline := time.Now().Add(5 * time.Second); len(got) < n && time.Now().Before(deadline); {
		got = append(got, r.take()...)
		if len(got) < n {
			time.Sleep(time.Millisecond)
		}
	}
	return got
}

func (r *recorder) middleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		ci := callinfo.From(ctx)
		err := next(ctx, req, resp)
		r.add(fmt.Sprintf("mw %q %q %T %v", ci.Service, ci.Method, req, err != nil))
		return err
	}
}

func (r *recorder) Start(ctx context.Context) context.Context { return ctx }

func (r *recorder) Finish(ctx context.Context) {
	ci := callinfo.From(ctx)
	r.add(fmt.Sprintf("tracer %q %q", ci.Service, ci.Method))
}

// startServer starts a server on 127.0.0.1 with svc served by impl (nil
// svc: a placeholder service with no methods, since a server needs one to
// start) and stops it at cleanup.
func startServer(t *testing.T, svc *service.Info, impl any, opts ...server.Option) *server.Server {
	t.Helper()
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, opts...)...)
	if svc == nil {
		svc, impl = &service.Info{Name: "Placeholder"}, struct{}{}
	}
	if err := svr.RegisterService(svc, impl); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr
}

// newClient returns a client of svc at addr, closed at cleanup.
func newClient(t *testing.T, svc *service.Info, addr string, opts ...client.Option) *client.Client {
	t.Helper()
	cli, err := client.New(svc, append([]client.Option{client.WithHostPorts(addr), client.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
