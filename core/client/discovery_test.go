package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/status"
)

// switchResolver is a pull resolver whose instance list a test changes; it
// counts its Resolve calls.
type switchResolver struct {
	mu    sync.Mutex
	addrs []string
	calls atomic.Int32
}

func (r *switchResolver) Name() string { return "switch" }

func (r *switchResolver) Resolve(context.Context, string) (discovery.Result, error) {
	r.calls.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	var res discovery.Result
	for _, a := range r.addrs {
		res.Instances = append(res.Instances, discovery.NewInstance("tcp", a, 0, nil))
	}
	return res, nil
}

func (r *switchResolver) set(addrs ...string) {
	r.mu.Lock()
	r.addrs = addrs
	r.mu.Unlock()
}

// pushResolver is a watching resolver: set pushes the new list at once.
type pushResolver struct {
	switchResolver
	mu      sync.Mutex
	updates []func(discovery.Result)
	watches atomic.Int32
}

func (r *pushResolver) Watch(service string, update func(discovery.Result)) (func(), error) {
	r.watches.Add(1)
	res, _ := r.Resolve(context.Background(), service)
	update(res)
	r.mu.Lock()
	r.updates = append(r.updates, update)
	i := len(r.updates) - 1
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.updates[i] = nil
		r.mu.Unlock()
	}, nil
}

func (r *pushResolver) push(addrs ...string) {
	r.set(addrs...)
	res, _ := r.Resolve(context.Background(), "")
	r.mu.Lock()
	ups := append([]func(discovery.Result){}, r.updates...)
	r.mu.Unlock()
	for _, u := range ups {
		if u != nil {
			u(res)
		}
	}
}

func (r *pushResolver) active() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, u := range r.updates {
		if u != nil {
			n++
		}
	}
	return n
}

// connCounter is a TCP proxy that counts its open client connections.
type connCounter struct {
	ln   net.Listener
	open atomic.Int32
	wg   sync.WaitGroup
}

func newConnCounter(t *testing.T, backend string) *connCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connCounter{ln: ln}
	var mu sync.Mutex
	var conns []net.Conn
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.open.Add(1)
			mu.Lock()
			conns = append(conns, c, b)
			mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(b, c); _ = b.Close(); p.open.Add(-1) }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, b); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *connCounter) addr() string { return p.ln.Addr().String() }

func servedBy(t *testing.T, cli *client.Client, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		out, err := call(cli, "x")
		if err != nil {
			t.Fatal(err)
		}
		_ = out
		got[lastServer.Load().(string)]++
	}
	return got
}

var lastServer atomic.Value

func namedServer(t *testing.T, name string) string {
	return start(t, func(ctx context.Context, in []byte) ([]byte, error) {
		lastServer.Store(name)
		return in, nil
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDiscoveryRefresh: with a pull resolver, traffic follows a changed
// instance list within one refresh interval, the pooled connections of the
// removed instance are closed, and the resolver is called once per refresh,
// never per call.
func TestDiscoveryRefresh(t *testing.T) {
	a, b := newConnCounter(t, namedServer(t, "a")), namedServer(t, "b")
	r := &switchResolver{}
	r.set(a.addr())
	const refresh = 100 * time.Millisecond
	cli, err := client.New(toycodec.Service(), client.WithResolver(r), client.WithDiscoveryRefresh(refresh), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	start := time.Now()
	if got := servedBy(t, cli, 200); got["a"] != 200 {
		t.Fatalf("before the change: %v", got)
	}
	if a.open.Load() == 0 {
		t.Fatal("no pooled connection to a")
	}
	r.set(b)
	changed := time.Now()
	time.Sleep(refresh + refresh/2)
	if got := servedBy(t, cli, 200); got["b"] != 200 {
		t.Fatalf("%v after the change (one refresh is %v): %v", time.Since(changed), refresh, got)
	}
	waitUntil(t, "the connections to the removed instance are closed", func() bool { return a.open.Load() == 0 })
	elapsed := time.Since(start)
	if max := int32(elapsed/refresh) + 2; r.calls.Load() > max {
		t.Errorf("resolver called %d times in %v for 400 calls, want at most %d (once per refresh)", r.calls.Load(), elapsed, max)
	}
}

// TestDiscoveryWatch: a watching resolver is watched once for all the
// clients of the same service, its pushes move traffic at once, Resolve is
// never called per call, and the watch stops when the last client closes.
func TestDiscoveryWatch(t *testing.T) {
	a, b := namedServer(t, "a"), namedServer(t, "b")
	r := &pushResolver{}
	r.set(a)
	var clis []*client.Client
	for range 3 {
		cli, err := client.New(toycodec.Service(), client.WithResolver(r), client.WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		clis = append(clis, cli)
	}
	for _, cli := range clis {
		if got := servedBy(t, cli, 20); got["a"] != 20 {
			t.Fatalf("before the push: %v", got)
		}
	}
	r.push(b)
	for _, cli := range clis {
		if got := servedBy(t, cli, 20); got["b"] != 20 {
			t.Fatalf("after the push: %v", got)
		}
	}
	if w := r.watches.Load(); w != 1 {
		t.Errorf("%d watches for three clients of one service, want 1 shared", w)
	}
	if n := r.calls.Load(); n > 2 {
		t.Errorf("Resolve called %d times for 120 calls", n)
	}
	for i, cli := range clis {
		_ = cli.Close()
		if want := 1; i < len(clis)-1 && r.active() != want {
			t.Errorf("after closing %d of 3 clients: %d active watches, want %d", i+1, r.active(), want)
		}
	}
	if r.active() != 0 {
		t.Errorf("watch still active after every client closed")
	}
}

// feedbackBalancer is round robin that records the feedback of each
// attempt.
type feedbackBalancer struct {
	loadbalance.Balancer
	mu      sync.Mutex
	done    []loadbalance.DoneInfo
	changes int
}

type feedbackPicker struct {
	loadbalance.Picker
	b *feedbackBalancer
}

func (b *feedbackBalancer) Picker(res discovery.Result) loadbalance.Picker {
	return &feedbackPicker{Picker: b.Balancer.Picker(res), b: b}
}

func (b *feedbackBalancer) OnChange(string, discovery.Change) {
	b.mu.Lock()
	b.changes++
	b.mu.Unlock()
}

func (p *feedbackPicker) Done(_ context.Context, _ discovery.Instance, info loadbalance.DoneInfo) {
	p.b.mu.Lock()
	p.b.done = append(p.b.done, info)
	p.b.mu.Unlock()
}

// TestBalancerFeedbackAndWrapper: a picker with the Feedback capability
// gets one Done per attempt with its outcome and latency; a balancer
// wrapper applies whatever the option order; a per-call option reaches the
// middleware.
func TestBalancerFeedbackAndWrapper(t *testing.T) {
	addr := start(t, func(ctx context.Context, in []byte) ([]byte, error) {
		if string(in) == "slow" {
			time.Sleep(20 * time.Millisecond)
		}
		return in, nil
	})
	fb := &feedbackBalancer{}
	tenant := callinfo.NewKey[string]("test.tenant")
	var seenTenant atomic.Value
	wrapped := false
	cli, err := client.New(toycodec.Service(), client.WithHostPorts(addr),
		client.WithBalancerWrapper(func(inner loadbalance.Balancer) loadbalance.Balancer {
			wrapped = true
			fb.Balancer = inner
			return fb
		}),
		client.WithLoadBalancer(loadbalance.NewWeightedRoundRobin()), // after the wrapper: still wrapped
		client.WithMiddleware(func(next endpoint.Endpoint) endpoint.Endpoint {
			return func(ctx context.Context, req, resp any) error {
				if v, ok := tenant.Get(callinfo.From(ctx)); ok {
					seenTenant.Store(v)
				}
				return next(ctx, req, resp)
			}
		}),
		client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if !wrapped {
		t.Fatal("the balancer wrapper was not applied")
	}
	if _, err := call(cli, "slow", client.WithCallOption(tenant, "acme")); err != nil {
		t.Fatal(err)
	}
	if v, _ := seenTenant.Load().(string); v != "acme" {
		t.Errorf("middleware saw tenant %q", v)
	}
	if _, err := call(cli, "fast"); err != nil {
		t.Fatal(err)
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if len(fb.done) != 2 || fb.done[0].Err != nil || fb.done[0].Latency < 20*time.Millisecond || fb.done[1].Latency >= 20*time.Millisecond {
		t.Errorf("feedback %+v, want two successes, the first slow", fb.done)
	}
	if fb.changes != 1 {
		t.Errorf("OnChange called %d times, want 1 (the first instance set)", fb.changes)
	}
}

// openPicker picks nothing and says why.
type openPicker struct{ loadbalance.Picker }

func (openPicker) Pick(context.Context) (discovery.Instance, error) {
	return nil, status.Wrap(status.ErrCircuitOpen, "every instance's circuit is open", nil)
}

type openBalancer struct{ loadbalance.Balancer }

func (b openBalancer) Picker(res discovery.Result) loadbalance.Picker {
	return openPicker{b.Balancer.Picker(res)}
}

// TestErrorPicker: a picker with the ErrorPicker capability gives the
// attempt its error (here a breaker's ErrCircuitOpen), not ErrNoInstance.
func TestErrorPicker(t *testing.T) {
	addr := start(t, func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	cli, err := client.New(toycodec.Service(), client.WithHostPorts(addr), client.WithLogger(quiet),
		client.WithBalancerWrapper(func(b loadbalance.Balancer) loadbalance.Balancer { return openBalancer{b} }))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := call(cli, "x"); !errors.Is(err, status.ErrCircuitOpen) {
		t.Fatalf("got %v, want ErrCircuitOpen", err)
	}
}

// TestFeedbackOnPanic: when the call path panics after a pick (here an
// instance middleware), the picker is still told the attempt ended, with
// an error.
func TestFeedbackOnPanic(t *testing.T) {
	addr := start(t, func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	fb := &feedbackBalancer{}
	cli, err := client.New(toycodec.Service(), client.WithHostPorts(addr), client.WithLogger(quiet),
		client.WithBalancerWrapper(func(inner loadbalance.Balancer) loadbalance.Balancer {
			fb.Balancer = inner
			return fb
		}),
		client.WithInstanceMiddleware(func(next endpoint.Endpoint) endpoint.Endpoint {
			return func(ctx context.Context, req, resp any) error { panic("instance middleware") }
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	func() {
		defer func() {
			if p := recover(); p != "instance middleware" {
				t.Errorf("recovered %v", p)
			}
		}()
		_, _ = call(cli, "x")
	}()
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if len(fb.done) != 1 || fb.done[0].Err == nil {
		t.Errorf("feedback %+v, want one failed attempt", fb.done)
	}
}

// TestRefusedInstanceRebalanced: an instance that refuses connections
// (gone, though still listed) costs no call: the call is balanced again,
// away from it, on each engine.
func TestRefusedInstanceRebalanced(t *testing.T) {
	live := start(t, func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	for _, eng := range []engine.Engine{engine.Default, engine.Std} { // Default is Netpoll where it runs
		t.Run(eng.Name(), func(t *testing.T) {
			var attempts atomic.Int32
			count := func(next endpoint.Endpoint) endpoint.Endpoint {
				return func(ctx context.Context, req, resp any) error {
					attempts.Add(1)
					return next(ctx, req, resp)
				}
			}
			cli, err := client.New(toycodec.Service(), client.WithHostPorts(dead, live), client.WithEngine(eng),
				client.WithLogger(quiet), client.WithInstanceMiddleware(count))
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			for i := range 20 {
				if _, err := call(cli, "x"); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if n := attempts.Load(); n <= 20 || n > 40 {
				t.Errorf("%d attempts for 20 calls, half of them first to the dead instance", n)
			}
		})
	}
	// Two of three instances refuse: the call is balanced away from each
	// refusal, never back to it.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead2 := ln2.Addr().String()
	_ = ln2.Close()
	cli3, err := client.New(toycodec.Service(), client.WithHostPorts(dead, dead2, live), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer cli3.Close()
	for i := range 30 {
		if _, err := call(cli3, "x"); err != nil {
			t.Fatalf("two of three refusing, call %d: %v", i, err)
		}
	}
	// Pinned to the dead address, the refusal is the call's error.
	cli, err := client.New(toycodec.Service(), client.WithHostPorts(live), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := call(cli, "x", client.WithHostPort(dead)); !errors.Is(err, status.ErrConnect) {
		t.Errorf("pinned to a refusing address: %v", err)
	}
}
