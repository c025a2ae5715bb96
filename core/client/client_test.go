package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// peers records the client addresses (connections) a server saw.
type peers struct {
	mu   sync.Mutex
	seen map[string]int
}

func (p *peers) handler(delay func([]byte) time.Duration) toycodec.Handler {
	return func(ctx context.Context, in []byte) ([]byte, error) {
		p.mu.Lock()
		if p.seen == nil {
			p.seen = map[string]int{}
		}
		p.seen[callinfo.From(ctx).RemoteAddr.String()]++
		p.mu.Unlock()
		if delay != nil {
			time.Sleep(delay(in))
		}
		return in, nil
	}
}

func (p *peers) conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

func start(t *testing.T, h toycodec.Handler) string {
	t.Helper()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	if err := svr.RegisterService(toycodec.Service(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr.Addr().String()
}

func call(cli *client.Client, b string, opts ...client.CallOption) (string, error) {
	var out toycodec.Bytes
	err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte(b)}, &out, opts...)
	return string(out.B), err
}

func TestLongPoolReusesConnections(t *testing.T) {
	var p peers
	addr := start(t, p.handler(nil))
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts(addr))
	defer cli.Close()
	for i := 0; i < 100; i++ {
		if got, err := call(cli, "x"); err != nil || got != "x" {
			t.Fatal(got, err)
		}
	}
	if n := p.conns(); n != 1 {
		t.Fatalf("100 sequential calls used %d connections, want 1", n)
	}
}

func TestShortConnection(t *testing.T) {
	var p peers
	addr := start(t, p.handler(nil))
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts(addr), client.WithShortConnection())
	defer cli.Close()
	for i := 0; i < 5; i++ {
		if _, err := call(cli, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.conns(); n != 5 {
		t.Fatalf("5 short calls used %d connections, want 5", n)
	}
}

func TestTimeoutDiscardsConnection(t *testing.T) {
	var p peers
	addr := start(t, p.handler(func(in []byte) time.Duration {
		if string(in) == "slow" {
			return 300 * time.Millisecond
		}
		return 0
	}))
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts(addr), client.WithRPCTimeout(100*time.Millisecond))
	defer cli.Close()
	if _, err := call(cli, "fast"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	_, err := call(cli, "slow")
	if el := time.Since(t0); !errors.Is(err, status.ErrTimeout) || el > 250*time.Millisecond {
		t.Fatalf("slow call: err %v after %v", err, el)
	}
	if got, err := call(cli, "fast"); err != nil || got != "fast" {
		t.Fatalf("call after timeout: %q %v", got, err)
	}
	// The timed-out connection was closed, so the third call used a new one.
	if n := p.conns(); n != 2 {
		t.Fatalf("connections used: %d, want 2", n)
	}
	// Context cancellation ends a call too.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = cli.Call(ctx, "Echo", &toycodec.Bytes{B: []byte("slow")}, &toycodec.Bytes{})
	if !errors.Is(err, status.ErrTimeout) {
		t.Fatalf("ctx deadline: %v", err)
	}
}

func TestPerCallHostPortAndMiddlewareOrder(t *testing.T) {
	a := start(t, func(_ context.Context, in []byte) ([]byte, error) { return []byte("a"), nil })
	b := start(t, func(_ context.Context, in []byte) ([]byte, error) { return []byte("b"), nil })
	var order []string
	mw := func(name string) endpoint.Middleware {
		return func(next endpoint.Endpoint) endpoint.Endpoint {
			return func(ctx context.Context, req, resp any) error {
				addr := "" // no attempt yet before instance selection
				if at := callinfo.AttemptFrom(ctx); at != nil {
					addr = at.Address
				}
				order = append(order, name+">"+addr)
				err := next(ctx, req, resp)
				order = append(order, "<"+name)
				return err
			}
		}
	}
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts(a),
		client.WithMiddleware(mw("outer"), mw("inner")), client.WithInstanceMiddleware(mw("instance")))
	defer cli.Close()
	if got, _ := call(cli, "x"); got != "a" {
		t.Fatalf("default host: %q", got)
	}
	want := []string{"outer>", "inner>", "instance>" + a, "<instance", "<inner", "<outer"}
	if len(order) != len(want) {
		t.Fatalf("order %v", order)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if got, _ := call(cli, "x", client.WithHostPort(b)); got != "b" {
		t.Fatalf("per-call host: %q", got)
	}
}

func TestConnectErrors(t *testing.T) {
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts("127.0.0.1:1"))
	defer cli.Close()
	if _, err := call(cli, "x"); !errors.Is(err, status.ErrConnect) {
		t.Fatalf("want connect error, got %v", err)
	}
	none, _ := client.New(toycodec.Service())
	defer none.Close()
	if _, err := call(none, "x"); !errors.Is(err, status.ErrNoInstance) {
		t.Fatalf("want no instance, got %v", err)
	}
}

func TestOneway(t *testing.T) {
	got := make(chan string, 1)
	addr := start(t, func(_ context.Context, in []byte) ([]byte, error) { got <- string(in); return nil, nil })
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts(addr))
	defer cli.Close()
	if err := cli.Call(context.Background(), "Notify", &toycodec.Bytes{B: []byte("hey")}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "hey" {
			t.Fatal(s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("oneway not delivered")
	}
	// The connection is still usable for a normal call.
	go func() { <-got }()
	if _, err := call(cli, "x"); err != nil {
		t.Fatal(err)
	}
}

// urlResolver maps every URL to one address and records what it was asked.
type urlResolver struct {
	addr string
	mu   sync.Mutex
	urls []string
}

func (r *urlResolver) ResolveURL(_ context.Context, u string) (string, error) {
	r.mu.Lock()
	r.urls = append(r.urls, u)
	r.mu.Unlock()
	if strings.Contains(u, "unknown") {
		return "", errors.New("no such host")
	}
	return r.addr, nil
}

func TestPerCallURL(t *testing.T) {
	a := start(t, func(_ context.Context, in []byte) ([]byte, error) { return []byte("a"), nil })
	b := start(t, func(_ context.Context, in []byte) ([]byte, error) { return []byte("b"), nil })
	_, port, _ := net.SplitHostPort(b)
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts(a))
	defer cli.Close()
	// The default resolver: the URL's host (an IP, or a name in DNS) and port.
	for _, u := range []string{"http://127.0.0.1:" + port + "/echo", "http://localhost:" + port + "/echo"} {
		if got, err := call(cli, "x", client.WithURL(u)); got != "b" {
			t.Fatalf("WithURL(%s): %q, %v", u, got, err)
		}
	}
	if _, err := call(cli, "x", client.WithURL("thrift://127.0.0.1/echo")); !errors.Is(err, status.ErrNoInstance) {
		t.Fatalf("URL without a port: %v", err)
	}
	if got, _ := call(cli, "x", client.WithURL("http://127.0.0.1:"+port), client.WithHostPort(a)); got != "a" {
		t.Fatalf("WithHostPort should win over WithURL: %q", got)
	}
	// A resolver of one's own.
	r := &urlResolver{addr: b}
	cli2, _ := client.New(toycodec.Service(), client.WithHostPorts(a), client.WithHTTPResolver(r))
	defer cli2.Close()
	if got, err := call(cli2, "x", client.WithURL("http://echo.example/x")); got != "b" {
		t.Fatalf("custom resolver: %q, %v", got, err)
	}
	if _, err := call(cli2, "x", client.WithURL("http://unknown.example/x")); !errors.Is(err, status.ErrNoInstance) || !strings.Contains(err.Error(), "no such host") {
		t.Fatalf("unresolvable URL: %v", err)
	}
	if got, _ := call(cli2, "x"); got != "a" {
		t.Fatalf("a call without WithURL: %q", got)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.urls) != 2 {
		t.Fatalf("resolver asked %v", r.urls)
	}
}
