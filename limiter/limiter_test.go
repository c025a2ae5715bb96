package limiter_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/limiter"
	"log/slog"
)

var quiet = slog.New(slog.DiscardHandler)

// callCtx returns a server call context for method.
func callCtx(method string) context.Context {
	ci := callinfo.New(context.Background())
	ci.Service, ci.Method = "Svc", method
	return ci
}

func ok(context.Context, any, any) error { return nil }

func isOverload(err error) bool {
	var se *status.Error
	return errors.Is(err, status.ErrOverload) && errors.As(err, &se) && se.Code() == status.ResourceExhausted &&
		se.WireKind() == status.KindOverload
}

// burst calls ep n times at once (no pause) and counts the successes,
// failing t on any error that is not an overload.
func burst(t *testing.T, ep endpoint.Endpoint, ctx context.Context, n int) int {
	t.Helper()
	admitted := 0
	for range n {
		err := ep(ctx, nil, nil)
		switch {
		case err == nil:
			admitted++
		case !isOverload(err):
			t.Fatalf("rejection %v does not match ErrOverload with a wire overload kind", err)
		}
	}
	return admitted
}

func TestQPSBurstAndRefill(t *testing.T) {
	l := limiter.New(limiter.WithLogger(quiet), limiter.WithLimits(limiter.Limits{QPS: 100, Burst: 10}))
	ep := l.Middleware()(ok)
	ctx := callCtx("Echo")
	if got := burst(t, ep, ctx, 50); got < 10 || got > 12 {
		t.Fatalf("a burst of 50 calls at 100 QPS, burst 10: %d admitted, want 10 (11 or 12 if the machine paused)", got)
	}
	time.Sleep(200 * time.Millisecond) // refills 20, capped at the burst
	if got := burst(t, ep, ctx, 50); got < 10 || got > 14 {
		t.Fatalf("after 200 ms: %d admitted, want the burst of 10", got)
	}
	if s := l.Stats(); s.RejectedQPS < 70 || s.InFlight != 0 {
		t.Fatalf("stats %+v: want about 78 QPS rejections and nothing in flight", s)
	}
}

func TestDefaultBurstIsATenthOfASecond(t *testing.T) {
	l := limiter.New(limiter.WithLimits(limiter.Limits{QPS: 200}), limiter.WithLogger(quiet))
	if got := burst(t, l.Middleware()(ok), callCtx("Echo"), 100); got < 20 || got > 23 {
		t.Fatalf("QPS 200 with the default burst: %d of 100 admitted at once, want 20", got)
	}
}

func TestUnlimitedAdmitsEverything(t *testing.T) {
	l := limiter.New()
	if got := burst(t, l.Middleware()(ok), callCtx("Echo"), 10000); got != 10000 {
		t.Fatalf("no limits: %d of 10000 admitted", got)
	}
}

// blocking returns an endpoint that blocks until release is closed, and
// reports each entry on entered.
func blocking() (ep endpoint.Endpoint, entered chan struct{}, release chan struct{}) {
	entered, release = make(chan struct{}, 100), make(chan struct{})
	return func(context.Context, any, any) error {
		entered <- struct{}{}
		<-release
		return nil
	}, entered, release
}

func TestConcurrencyLimit(t *testing.T) {
	l := limiter.New(limiter.WithLimits(limiter.Limits{Concurrency: 2}), limiter.WithLogger(quiet))
	h, entered, release := blocking()
	ep := l.Middleware()(h)
	ctx := callCtx("Echo")
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := ep(ctx, nil, nil); err != nil {
				t.Errorf("call within the limit: %v", err)
			}
		})
	}
	<-entered
	<-entered
	if err := ep(ctx, nil, nil); !isOverload(err) {
		t.Fatalf("third concurrent call: %v, want overload", err)
	}
	if s := l.Stats(); s.InFlight != 2 || s.RejectedConcurrency != 1 {
		t.Fatalf("stats %+v: want 2 in flight, 1 rejection", s)
	}
	close(release)
	wg.Wait()
	if err := ep(ctx, nil, nil); err != nil {
		t.Fatalf("call after the others finished: %v", err)
	}
	if s := l.Stats(); s.InFlight != 0 {
		t.Fatalf("in flight after all returned: %d", s.InFlight)
	}
}

func TestMethodLimits(t *testing.T) {
	l := limiter.New(limiter.WithLogger(quiet),
		limiter.WithMethodLimits("Slow", limiter.Limits{QPS: 10, Burst: 5}),
		limiter.WithMethodLimits("Single", limiter.Limits{Concurrency: 1}))
	ep := l.Middleware()(ok)
	if got := burst(t, ep, callCtx("Slow"), 20); got < 5 || got > 6 {
		t.Fatalf("Slow: %d admitted, want its burst of 5", got)
	}
	if got := burst(t, ep, callCtx("Echo"), 1000); got != 1000 {
		t.Fatalf("Echo has no limit: %d of 1000 admitted", got)
	}
	h, entered, release := blocking()
	bep := l.Middleware()(h)
	done := make(chan error, 1)
	go func() { done <- bep(callCtx("Single"), nil, nil) }()
	<-entered
	if err := ep(callCtx("Single"), nil, nil); !isOverload(err) {
		t.Fatalf("second Single call: %v, want overload", err)
	}
	if err := ep(callCtx("Echo"), nil, nil); err != nil {
		t.Fatalf("Echo beside a running Single: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Run-time changes: raise, then remove Slow's limit; limit Echo.
	l.SetMethodLimits("Slow", limiter.Limits{QPS: 10, Burst: 100})
	if got := burst(t, ep, callCtx("Slow"), 200); got < 95 || got > 101 {
		t.Fatalf("Slow with burst 100: %d admitted", got)
	}
	l.SetMethodLimits("Slow", limiter.Limits{})
	if got := burst(t, ep, callCtx("Slow"), 500); got != 500 {
		t.Fatalf("Slow without limits: %d of 500 admitted", got)
	}
	l.SetMethodLimits("Echo", limiter.Limits{QPS: 1, Burst: 3})
	if got := burst(t, ep, callCtx("Echo"), 10); got != 3 {
		t.Fatalf("Echo limited at run time: %d admitted, want 3", got)
	}
}

func TestSetLimitsAtRunTime(t *testing.T) {
	l := limiter.New(limiter.WithLogger(quiet))
	ep := l.Middleware()(ok)
	ctx := callCtx("Echo")
	l.SetLimits(limiter.Limits{QPS: 1, Burst: 4})
	if got := burst(t, ep, ctx, 10); got != 4 {
		t.Fatalf("after SetLimits(burst 4): %d admitted", got)
	}
	l.SetLimits(limiter.Limits{})
	if got := burst(t, ep, ctx, 100); got != 100 {
		t.Fatalf("after removing the limits: %d of 100 admitted", got)
	}
}

func TestConnectionLimit(t *testing.T) {
	l := limiter.New(limiter.WithMaxConnections(2), limiter.WithLogger(quiet))
	h := l.ConnHook()
	a := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	if h.Accept(a) != nil || h.Accept(a) != nil {
		t.Fatal("connections within the limit refused")
	}
	if err := h.Accept(a); !errors.Is(err, status.ErrOverload) {
		t.Fatalf("third connection: %v, want an overload refusal", err)
	}
	h.Closed(a)
	if err := h.Accept(a); err != nil {
		t.Fatalf("connection after one closed: %v", err)
	}
	l.SetMaxConnections(0)
	for range 10 {
		if err := h.Accept(a); err != nil {
			t.Fatalf("no limit: %v", err)
		}
	}
	if s := l.Stats(); s.Conns != 12 || s.RefusedConns != 1 {
		t.Fatalf("stats %+v: want 12 open, 1 refused", s)
	}
}

// TestAdaptiveShedsQueueing queues calls on a lock inside the handler (as
// on a saturated downstream): the adaptive limiter, configured with no
// number, must start shedding and keep the admitted calls' latency well
// below the unlimited queue's, then stop once the load is gone.
func TestAdaptiveShedsQueueing(t *testing.T) {
	l := limiter.New(limiter.WithAdaptive(), limiter.WithLogger(quiet))
	var mu sync.Mutex
	handler := func(context.Context, any, any) error {
		mu.Lock()
		time.Sleep(time.Millisecond)
		mu.Unlock()
		return nil
	}
	ep := l.Middleware()(handler)
	ctx := callCtx("Echo")
	// Unloaded: learn the no-load latency.
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		if err := ep(ctx, nil, nil); err != nil {
			t.Fatalf("unloaded call rejected: %v", err)
		}
	}
	// 32 callers on a handler that serves one at a time: unlimited, each
	// would wait about 32 service times.
	var admitted, latency atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				if err := ep(ctx, nil, nil); err == nil {
					admitted.Add(1)
					latency.Add(int64(time.Since(start)))
				} else if !isOverload(err) {
					t.Errorf("rejection %v is not an overload", err)
					return
				} else {
					time.Sleep(time.Millisecond) // a client backing off a little
				}
			}
		})
	}
	time.Sleep(time.Second) // let it settle, then measure
	admitted.Store(0)
	latency.Store(0)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	s := l.Stats()
	n := admitted.Load()
	if s.RejectedAdaptive == 0 || n == 0 {
		t.Fatalf("no shedding under 32x load: %+v, %d admitted", s, n)
	}
	mean := time.Duration(latency.Load() / n)
	t.Logf("admitted %d/s, mean latency %v, rejected %d in all, limit now %d", n, mean, s.RejectedAdaptive, s.AdaptiveLimit)
	if mean > 12*time.Millisecond {
		t.Errorf("mean latency of admitted calls %v: the queue was not shed (unlimited it is about 32 ms)", mean)
	}
	// Unloaded again: once the shedder has let go (it may still hold a
	// fraction for a few periods), one caller at a time is never rejected.
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().AdaptiveDrop > 0 && time.Now().Before(deadline) {
		_ = ep(ctx, nil, nil)
	}
	for range 200 {
		if err := ep(ctx, nil, nil); err != nil {
			t.Fatalf("unloaded call rejected after recovery: %v", err)
		}
	}
}

// TestAdaptiveShedsRunQueue runs 16 callers of a CPU-bound handler on one
// P: they queue as runnable goroutines, a queue the scheduler's wait shows
// before any in-flight count does (a handler runs up to 10 ms before Go
// preempts it). The adaptive limiter's shedder must engage: a drop
// fraction above zero, not only its concurrency limit.
func TestAdaptiveShedsRunQueue(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	l := limiter.New(limiter.WithAdaptive(), limiter.WithLogger(quiet))
	var inflight, peak atomic.Int64
	handler := func(context.Context, any, any) error {
		n := inflight.Add(1)
		if n > peak.Load() {
			peak.Store(n)
		}
		for start := time.Now(); time.Since(start) < time.Millisecond; {
		}
		inflight.Add(-1)
		return nil
	}
	ep := l.Middleware()(handler)
	ctx := callCtx("Echo")
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
		if err := ep(ctx, nil, nil); err != nil {
			t.Fatalf("unloaded call rejected: %v", err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := ep(ctx, nil, nil); err != nil && !isOverload(err) {
					t.Errorf("rejection %v is not an overload", err)
					return
				}
			}
		})
	}
	var maxDrop float64
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
		maxDrop = max(maxDrop, l.Stats().AdaptiveDrop)
	}
	close(stop)
	wg.Wait()
	s := l.Stats()
	t.Logf("peak in flight %d, highest drop fraction %.2f, rejected %d, limit %d", peak.Load(), maxDrop, s.RejectedAdaptive, s.AdaptiveLimit)
	if s.RejectedAdaptive == 0 || maxDrop == 0 {
		t.Fatalf("16 CPU-bound callers on one P: nothing shed (%+v)", s)
	}
}
