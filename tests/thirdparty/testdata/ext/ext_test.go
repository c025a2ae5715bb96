package skiffext_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/skiffext/balance"
	"example.com/skiffext/envcodec"
	"example.com/skiffext/metaframe"
	"example.com/skiffext/tenant"
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// handlerFunc serves one method with plain bytes.
type handlerFunc func(ctx context.Context, in []byte) ([]byte, error)

// serviceInfo describes a service of one method whose payloads are
// envcodec.Bytes, served by a handlerFunc.
func serviceInfo(name, method string) *service.Info {
	call := func(ctx context.Context, impl any, args, result any) error {
		out, err := impl.(handlerFunc)(ctx, args.(*envcodec.Bytes).B)
		if err != nil {
			return err
		}
		result.(*envcodec.Bytes).B = out
		return nil
	}
	newB := func() any { return new(envcodec.Bytes) }
	return &service.Info{
		Name:    name,
		Codec:   envcodec.Name,
		Methods: map[string]*service.MethodInfo{method: {Name: method, Handler: call, NewArgs: newB, NewResult: newB}},
	}
}

// startServer serves h as svc.method on 127.0.0.1 until the test ends.
func startServer(t *testing.T, svc, method string, h handlerFunc, opts ...server.Option) *server.Server {
	t.Helper()
	opts = append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(time.Second)}, opts...)
	s := server.New(opts...)
	if err := s.RegisterService(serviceInfo(svc, method), h); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// newClient returns a client of svc closed when the test ends (before the
// servers it started earlier stop).
func newClient(t *testing.T, svc *service.Info, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(svc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// counted is a handler that counts its calls, sleeps for the delay it is
// set to, then fails with its error or echoes.
type counted struct {
	calls atomic.Int64
	delay atomic.Int64 // nanoseconds
	err   error
}

func (c *counted) handle(_ context.Context, in []byte) ([]byte, error) {
	c.calls.Add(1)
	if d := time.Duration(c.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	if c.err != nil {
		return nil, c.err
	}
	return in, nil
}

func echoCall(ctx context.Context, c *client.Client, opts ...client.CallOption) error {
	var out envcodec.Bytes
	if err := c.Call(ctx, "Echo", &envcodec.Bytes{B: []byte("ping")}, &out, opts...); err != nil {
		return err
	}
	if string(out.B) != "ping" {
		return errors.New("echo returned " + string(out.B))
	}
	return nil
}

// (a) A feedback balancer: after a few slow calls to one server, the
// least-latency balancer sends nearly all calls to the fast one, and it
// tries the slow one again once its average has faded.
func TestFeedbackBalancer(t *testing.T) {
	slow, fast := &counted{}, &counted{}
	slow.delay.Store(int64(40 * time.Millisecond))
	sSlow := startServer(t, "Echo", "Echo", slow.handle)
	sFast := startServer(t, "Echo", "Echo", fast.handle)
	lb := balance.NewLeastLatency(balance.LeastLatencyParams{Decay: 250 * time.Millisecond})
	cli := newClient(t, serviceInfo("Echo", "Echo"),
		client.WithHostPorts(sSlow.Addr().String(), sFast.Addr().String()), client.WithLoadBalancer(lb))
	ctx := context.Background()

	const calls = 40
	for i := range calls {
		if err := echoCall(ctx, cli); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	ns, nf := slow.calls.Load(), fast.calls.Load()
	t.Logf("slow server: %d calls, fast server: %d calls", ns, nf)
	// Normally the slow one gets one or two calls; latency spikes of the
	// fast one on a loaded machine may send it a few more.
	if ns < 1 || ns > calls/5 || nf < calls-calls/5 {
		t.Fatalf("slow server got %d of %d calls, fast %d: want the slow one tried, then avoided", ns, calls, nf)
	}
	avgSlow, ok1 := lb.Average(sSlow.Addr().String())
	avgFast, ok2 := lb.Average(sFast.Addr().String())
	if !ok1 || !ok2 || avgSlow <= avgFast {
		t.Fatalf("averages: slow %v (%v), fast %v (%v)", avgSlow, ok1, avgFast, ok2)
	}

	// The slow server recovers; with steady traffic its stale average
	// fades (Decay) until the balancer probes it again.
	slow.delay.Store(0)
	deadline := time.Now().Add(10 * time.Second)
	for slow.calls.Load() == ns {
		if time.Now().After(deadline) {
			t.Fatal("the recovered server got no call in 10 s")
		}
		if err := echoCall(ctx, cli); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

// pushResolver is a discovery.Watcher whose instance set the test sets.
type pushResolver struct {
	mu     sync.Mutex
	res    discovery.Result
	update func(discovery.Result)
}

func newPushResolver(addrs ...string) *pushResolver {
	r := &pushResolver{}
	r.res = result(addrs...)
	return r
}

func result(addrs ...string) discovery.Result {
	var res discovery.Result
	for _, a := range addrs {
		res.Instances = append(res.Instances, discovery.NewInstance("tcp", a, 0, nil))
	}
	return res
}

var _ discovery.Watcher = (*pushResolver)(nil)

func (r *pushResolver) Name() string { return "push" }

func (r *pushResolver) Resolve(context.Context, string) (discovery.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res, nil
}

func (r *pushResolver) Watch(_ string, update func(discovery.Result)) (func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.update = update
	update(r.res)
	return func() {
		r.mu.Lock()
		r.update = nil
		r.mu.Unlock()
	}, nil
}

// push replaces the instance set; the client has its new picker when
// push returns.
func (r *pushResolver) push(addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res = result(addrs...)
	if r.update != nil {
		r.update(r.res)
	}
}

// runCalls makes n calls and returns the errors.
func runCalls(t *testing.T, cli *client.Client, n int) []error {
	t.Helper()
	var errs []error
	for range n {
		if err := echoCall(context.Background(), cli); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// (b) A breaker installed with client.WithBalancerWrapper skips an
// instance whose last N attempts failed, while the other keeps serving.
func TestBreakerWrapper(t *testing.T) {
	t.Run("HandlerErrors", func(t *testing.T) {
		bad := &counted{err: status.New(status.Unavailable, "bad instance")}
		good := &counted{}
		sBad := startServer(t, "Echo", "Echo", bad.handle)
		sGood := startServer(t, "Echo", "Echo", good.handle)
		br := balance.NewBreaker(balance.BreakerParams{Failures: 3, Cooldown: time.Minute})
		// Default balancer (weighted round robin), wrapped.
		cli := newClient(t, serviceInfo("Echo", "Echo"),
			client.WithHostPorts(sBad.Addr().String(), sGood.Addr().String()), client.WithBalancerWrapper(br.Wrap))
		errs := runCalls(t, cli, 20)
		if len(errs) != 3 || bad.calls.Load() != 3 || good.calls.Load() != 17 {
			t.Fatalf("%d errors %v; bad server %d calls, good %d: want 3 failures, then every call on the good one",
				len(errs), errs, bad.calls.Load(), good.calls.Load())
		}
		for _, err := range errs {
			if !errors.Is(err, status.ErrRemote) || status.CodeOf(err) != status.Unavailable {
				t.Errorf("failure %v: want the handler's remote Unavailable", err)
			}
		}
		if !br.Open(sBad.Addr().String()) || br.Open(sGood.Addr().String()) {
			t.Fatal("breaker state: want the bad instance open, the good one closed")
		}
	})

	t.Run("StoppedServer", func(t *testing.T) {
		good := &counted{}
		sGone := startServer(t, "Echo", "Echo", (&counted{}).handle)
		gone := sGone.Addr().String()
		if err := sGone.Stop(); err != nil {
			t.Fatal(err)
		}
		sGood := startServer(t, "Echo", "Echo", good.handle)
		br := balance.NewBreaker(balance.BreakerParams{Failures: 2, Cooldown: time.Minute})
		cli := newClient(t, serviceInfo("Echo", "Echo"),
			client.WithHostPorts(gone, sGood.Addr().String()), client.WithBalancerWrapper(br.Wrap))
		errs := runCalls(t, cli, 20)
		// A refused dial sends nothing, and the client balances the call
		// once more: no call fails, and the breaker still learns of the
		// two refusals (feedback) and then skips the stopped server.
		if len(errs) != 0 || good.calls.Load() != 20 {
			t.Fatalf("%d errors %v, good server %d calls: want no failure, every call on the good one",
				len(errs), errs, good.calls.Load())
		}
		if !br.Open(gone) {
			t.Fatal("the stopped server is not skipped")
		}
	})

	// Around a feedback balancer, with a watching resolver: the wrapper
	// passes feedback and instance changes on to the wrapped balancer,
	// and forgets removed instances. The least-latency balancer alone
	// would favour the instance that fails fast.
	t.Run("AroundFeedbackBalancer", func(t *testing.T) {
		bad := &counted{err: status.New(status.Internal, "fails fast")}
		good := &counted{}
		good.delay.Store(int64(10 * time.Millisecond))
		sBad := startServer(t, "Echo", "Echo", bad.handle)
		sGood := startServer(t, "Echo", "Echo", good.handle)
		badAddr, goodAddr := sBad.Addr().String(), sGood.Addr().String()
		// A short decay: should the first call to the bad instance be
		// slow (dialing on a loaded machine), its average fades fast.
		lb := balance.NewLeastLatency(balance.LeastLatencyParams{Decay: 50 * time.Millisecond})
		br := balance.NewBreaker(balance.BreakerParams{Failures: 3, Cooldown: time.Minute})
		r := newPushResolver(badAddr, goodAddr)
		cli := newClient(t, serviceInfo("Echo", "Echo"), client.WithResolver(r),
			client.WithLoadBalancer(lb), client.WithBalancerWrapper(br.Wrap))

		// untilOpen calls until the breaker skips the bad instance, then
		// a few more times; it returns the errors.
		untilOpen := func() []error {
			t.Helper()
			var errs []error
			deadline := time.Now().Add(10 * time.Second)
			for !br.Open(badAddr) {
				if time.Now().After(deadline) {
					t.Fatalf("the bad instance is not skipped after 10 s: %d calls to it, errors %v", bad.calls.Load(), errs)
				}
				errs = append(errs, runCalls(t, cli, 1)...)
			}
			return append(errs, runCalls(t, cli, 5)...)
		}
		errs := untilOpen()
		if len(errs) != 3 || bad.calls.Load() != 3 {
			t.Fatalf("%d errors %v, bad server %d calls: want 3 failures, then the bad one skipped",
				len(errs), errs, bad.calls.Load())
		}
		if _, ok := lb.Average(goodAddr); !ok {
			t.Fatal("the wrapped balancer got no feedback through the breaker")
		}

		// The bad instance leaves: both the breaker and the wrapped
		// balancer (ChangeObserver, passed on) drop its state.
		r.push(goodAddr)
		if br.Open(badAddr) || br.Tracked() != 1 {
			t.Fatalf("after removal: bad open %v, %d instances tracked; want its state dropped", br.Open(badAddr), br.Tracked())
		}
		if _, ok := lb.Average(badAddr); ok {
			t.Fatal("the wrapped balancer kept the removed instance's average: OnChange was not passed on")
		}
		if errs := runCalls(t, cli, 5); len(errs) != 0 {
			t.Fatal(errs)
		}

		// It comes back as a new instance: tried again, skipped again.
		r.push(badAddr, goodAddr)
		errs = untilOpen()
		if len(errs) != 3 || bad.calls.Load() != 6 {
			t.Fatalf("after re-adding: %d errors %v, bad server %d calls in all; want 3 more failures",
				len(errs), errs, bad.calls.Load())
		}
	})
}

// (c) A per-call option defined outside core (callinfo.NewKey +
// client.WithCallOption), read by client middleware that sends it as
// request metadata, which the server finds in callinfo.From(ctx).Request.
func TestPerCallOption(t *testing.T) {
	who := func(ctx context.Context, _ []byte) ([]byte, error) {
		if callinfo.From(ctx) == nil {
			return nil, errors.New("no call info in the handler's context")
		}
		v, _ := tenant.FromServer(ctx)
		return []byte(v), nil
	}
	// The server sniffs every registered transport, metaframe included.
	s := startServer(t, "Tenancy", "Who", who)
	addr := s.Addr().String()

	for _, tc := range []struct {
		name      string
		proto     transport.Protocol
		carriesMD bool
	}{
		{"metaframe", metaframe.Protocol, true},
		{"framed", transport.Framed, false}, // no metadata on plain Framed
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			observe := func(v string) {
				mu.Lock()
				seen = append(seen, v)
				mu.Unlock()
			}
			cli := newClient(t, serviceInfo("Tenancy", "Who"), client.WithHostPorts(addr),
				client.WithTransport(tc.proto), client.WithMiddleware(tenant.Middleware(observe)))
			call := func(opts ...client.CallOption) string {
				t.Helper()
				var out envcodec.Bytes
				if err := cli.Call(context.Background(), "Who", &envcodec.Bytes{}, &out, opts...); err != nil {
					t.Fatal(err)
				}
				return string(out.B)
			}
			got1, got2 := call(tenant.With("acme")), call()
			want1 := ""
			if tc.carriesMD {
				want1 = "acme"
			}
			if got1 != want1 || got2 != "" {
				t.Fatalf("server saw tenants %q and %q, want %q and \"\"", got1, got2, want1)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 2 || seen[0] != "acme" || seen[1] != "" {
				t.Fatalf("middleware saw %q, want [acme \"\"]", seen)
			}
		})
	}
}

// greeting is an unknown-method handler: it answers Hello with raw
// bytes, fails Fail with a code, and records what it was given.
type greeting struct {
	mu   sync.Mutex
	seen []string
}

func (g *greeting) handle(ctx context.Context, svc, method string, req []byte) ([]byte, error) {
	ci := callinfo.From(ctx)
	if ci == nil || ci.Method != method || ci.Service != svc {
		return nil, errors.New("call info does not match the handler's arguments")
	}
	g.mu.Lock()
	g.seen = append(g.seen, svc+"."+method+"("+string(req)+")")
	g.mu.Unlock()
	switch method {
	case "Hello":
		return append([]byte("hello, "), req...), nil
	case "Fail":
		return nil, status.New(status.NotFound, "no such greeting")
	}
	return nil, status.New(status.Unimplemented, "unknown greeting "+method)
}

func (g *greeting) take() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.seen
	g.seen = nil
	return out
}

// (d) A server with no method Hello but an unknown-method handler
// answers a raw client call of Hello; the handler's error reaches the
// client as a remote error with its code.
func TestUnknownMethodHandler(t *testing.T) {
	g := &greeting{}
	other := func(_ context.Context, in []byte) ([]byte, error) { return append([]byte("other:"), in...), nil }
	s := startServer(t, "Greeter", "Other", other, server.WithUnknownMethodHandler(g.handle))
	plain := startServer(t, "Greeter", "Other", other) // no unknown-method handler
	// The client's service.Info lists no methods: Hello is a raw call.
	greeter := &service.Info{Name: "Greeter", Codec: envcodec.Name}

	for _, tc := range []struct {
		name  string
		proto transport.Protocol
		svc   string // the service name the handler gets
	}{
		{"framed", transport.Framed, ""},             // Framed carries no service name
		{"metaframe", metaframe.Protocol, "Greeter"}, // metaframe does
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := newClient(t, greeter, client.WithHostPorts(s.Addr().String()), client.WithTransport(tc.proto))
			ctx := context.Background()

			var out codec.Raw
			if err := cli.Call(ctx, "Hello", codec.Raw("bob"), &out); err != nil {
				t.Fatal(err)
			}
			if string(out) != "hello, bob" {
				t.Fatalf("Hello answered %q", out)
			}
			if got := g.take(); len(got) != 1 || got[0] != tc.svc+".Hello(bob)" {
				t.Fatalf("handler saw %q", got)
			}

			err := cli.Call(ctx, "Fail", codec.Raw("x"), &out)
			var se *status.Error
			if !errors.Is(err, status.ErrRemote) || !errors.As(err, &se) || se.Code() != status.NotFound ||
				se.Message() != "no such greeting" {
				t.Fatalf("Fail: %v; want the handler's remote NotFound", err)
			}
			g.take()

			// The registered method is still served, typed.
			var typed envcodec.Bytes
			if err := cli.Call(ctx, "Other", &envcodec.Bytes{B: []byte("x")}, &typed); err != nil || string(typed.B) != "other:x" {
				t.Fatalf("Other: %q %v", typed.B, err)
			}
			if got := g.take(); len(got) != 0 {
				t.Fatalf("the handler saw a registered method: %q", got)
			}

			// Without the handler, Hello is an unknown method.
			pcli := newClient(t, greeter, client.WithHostPorts(plain.Addr().String()), client.WithTransport(tc.proto))
			err = pcli.Call(ctx, "Hello", codec.Raw("bob"), &out)
			if !errors.Is(err, status.ErrRemote) || status.CodeOf(err) != status.Unimplemented {
				t.Fatalf("Hello without a handler: %v; want a remote Unimplemented", err)
			}
		})
	}
}

// A proxy or gateway serves only unknown methods: a server with an
// unknown-method handler and no registered service starts and serves.
func TestUnknownMethodOnlyServer(t *testing.T) {
	g := &greeting{}
	s := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(time.Second),
		server.WithUnknownMethodHandler(g.handle))
	defer func() { _ = s.Stop() }()
	if err := s.Start(); err != nil {
		t.Fatalf("a server with only an unknown-method handler: %v", err)
	}
	cli, err := client.New(&service.Info{Name: "Greeter", Codec: envcodec.Name}, client.WithHostPorts(s.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.Close() }()
	var out codec.Raw
	if err := cli.Call(context.Background(), "Hello", codec.Raw("proxy"), &out); err != nil || string(out) != "hello, proxy" {
		t.Fatalf("Hello: %q %v", out, err)
	}
}
