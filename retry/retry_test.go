package retry_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/retry"
)

// slowFirst makes the first n hits (over every server sharing rec) outlast
// the client's timeout.
func slowFirst(n int, d time.Duration) func(ctx context.Context, i int, h hit) ([]byte, error) {
	return func(ctx context.Context, i int, h hit) ([]byte, error) {
		if i <= n {
			sleep(ctx, d)
		}
		return []byte(h.in), nil
	}
}

// Two timeouts, then success: three server hits, each on an instance the
// call had not tried.
func TestFailureRetryOnTimeout(t *testing.T) {
	var rec hits
	do := slowFirst(2, 600*time.Millisecond)
	a, b, c := startServer(t, 1, &rec, do), startServer(t, 2, &rec, do), startServer(t, 3, &rec, do)
	r := retry.New(retry.WithMethodPolicy("Get", retry.Policy{MaxAttempts: 3}), retry.WithIdempotent("Get"))
	tr := &reportTracer{}
	cli := newClient(t, client.WithHostPorts(a, b, c), client.WithRPCTimeout(200*time.Millisecond),
		client.WithSuite(r), client.WithTracer(tr))
	out, err := call(context.Background(), cli, "Get", "hello")
	if err != nil || out != "hello" {
		t.Fatalf("got %q, %v; stats %+v, report %+v", out, err, r.Stats(), tr.last())
	}
	hs := rec.all()
	if len(hs) != 3 {
		t.Fatalf("%d server hits, want 3", len(hs))
	}
	if hs[0].server == hs[1].server || hs[1].server == hs[2].server || hs[0].server == hs[2].server {
		t.Fatalf("retries went to an instance already tried: %+v", hs)
	}
	st := r.Stats()
	if st.Calls != 1 || st.Retries != 2 || st.Attempts != 3 {
		t.Fatalf("stats %+v", st)
	}
	rep := tr.last()
	if rep == nil || len(rep.Tries) != 3 || !rep.Tries[2].Won || rep.Tries[1].Kind != retry.Retry ||
		!errors.Is(rep.Tries[0].Err, status.ErrTimeout) {
		t.Fatalf("report %+v", rep)
	}
}

// SameInstance keeps every retry on the first attempt's instance.
func TestSameInstance(t *testing.T) {
	var rec hits
	do := slowFirst(2, 300*time.Millisecond)
	a, b := startServer(t, 1, &rec, do), startServer(t, 2, &rec, do)
	r := retry.New(retry.WithMethodPolicy("Get", retry.Policy{MaxAttempts: 3, SameInstance: true}), retry.WithIdempotent("Get"))
	cli := newClient(t, client.WithHostPorts(a, b), client.WithRPCTimeout(100*time.Millisecond), client.WithSuite(r))
	if _, err := call(context.Background(), cli, "Get", "x"); err != nil {
		t.Fatal(err)
	}
	hs := rec.all()
	if len(hs) != 3 || hs[0].server != hs[1].server || hs[1].server != hs[2].server {
		t.Fatalf("hits %+v, want 3 on one instance", hs)
	}
}

// A method not marked idempotent is not retried once its request was
// sent; one whose request could not be sent is retried elsewhere.
func TestIdempotency(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, slowFirst(1, 300*time.Millisecond))
	r := retry.New(retry.WithMethodPolicy(retry.AnyMethod, retry.Policy{MaxAttempts: 3}))
	cli := newClient(t, client.WithHostPorts(a), client.WithRPCTimeout(100*time.Millisecond), client.WithSuite(r))
	if _, err := call(context.Background(), cli, "Put", "x"); !errors.Is(err, status.ErrTimeout) {
		t.Fatalf("want the timeout, got %v", err)
	}
	time.Sleep(250 * time.Millisecond) // let the slow handler finish
	if n := rec.count(); n != 1 {
		t.Fatalf("%d hits, want 1", n)
	}
	if st := r.Stats(); st.IdempotencyStops != 1 || st.Retries != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Two refused instances: core balances a refused call once more by
	// itself, so only a second refusal reaches the retry middleware.
	cli2 := newClient(t, client.WithHostPorts(deadAddr(t), deadAddr(t), a), client.WithSuite(r))
	for i := range 4 {
		if _, err := call(context.Background(), cli2, "Put", "y"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// The dead instance refuses connections: core balances such a call
	// once more by itself (nothing was sent), so the policy may never see
	// the failure; it must not count a refused call as sent, and every
	// call succeeded.
	if st := r.Stats(); st.IdempotencyStops != 1 {
		t.Fatalf("stats %+v: a refused (unsent) call was treated as sent", st)
	}
}

// Remote codes retry only when the policy lists them; RetryIf retries on
// the response.
func TestCodesAndRetryIf(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		switch {
		case h.in == "unavailable" && n%2 == 1:
			return nil, status.New(status.Unavailable, "try later")
		case h.in == "again" && n%2 == 1:
			return []byte("again"), nil
		}
		return []byte("ok"), nil
	})
	r := retry.New(retry.WithIdempotent(retry.AnyMethod),
		retry.WithMethodPolicy("Get", retry.Policy{Codes: []status.Code{status.Unavailable},
			RetryIf: func(_ context.Context, resp any, err error) bool {
				return err == nil && string(resp.(*Bytes).B) == "again"
			}}),
		retry.WithMethodPolicy("Put", retry.Policy{}))
	cli := newClient(t, client.WithHostPorts(a), client.WithSuite(r))
	if out, err := call(context.Background(), cli, "Get", "unavailable"); err != nil || out != "ok" {
		t.Fatalf("listed code: %q %v", out, err)
	}
	if out, err := call(context.Background(), cli, "Get", "again"); err != nil || out != "ok" {
		t.Fatalf("RetryIf: %q %v", out, err)
	}
	// Put's policy lists no code: the Unavailable error is returned as is.
	if _, err := call(context.Background(), cli, "Put", "unavailable"); status.CodeOf(err) != status.Unavailable {
		t.Fatalf("unlisted code: %v", err)
	}
	if n := rec.count(); n != 5 {
		t.Fatalf("%d hits, want 5", n)
	}
}

// A request that is itself a retry upstream is not retried (chain stop),
// unless the policy says NoChainStop.
func TestChainStop(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		return nil, status.New(status.Unavailable, "down")
	})
	r := retry.New(retry.WithIdempotent(retry.AnyMethod),
		retry.WithMethodPolicy("Get", retry.Policy{Codes: []status.Code{status.Unavailable}}),
		retry.WithMethodPolicy("Put", retry.Policy{Codes: []status.Code{status.Unavailable}, NoChainStop: true}))
	cli := newClient(t, client.WithHostPorts(a), client.WithSuite(r))
	ctx := metainfo.WithPersistentValue(context.Background(), retry.RetryReqKey, "1")
	if !retry.IsRetryRequest(ctx) {
		t.Fatal("marker not seen")
	}
	_, _ = call(ctx, cli, "Get", "x")
	if n := rec.count(); n != 1 {
		t.Fatalf("chain stop: %d hits, want 1", n)
	}
	_, _ = call(ctx, cli, "Put", "x")
	if n := rec.count(); n != 1+retry.DefaultAttempts {
		t.Fatalf("NoChainStop: %d hits, want %d", n, 1+retry.DefaultAttempts)
	}
	if st := r.Stats(); st.ChainStops != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// MaxDuration bounds the call: no retry starts after it.
func TestMaxDuration(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, slowFirst(10, 300*time.Millisecond))
	r := retry.New(retry.WithIdempotent("Get"), retry.WithMethodPolicy("Get", retry.Policy{MaxAttempts: 5, MaxDuration: 150 * time.Millisecond}))
	cli := newClient(t, client.WithHostPorts(a), client.WithRPCTimeout(100*time.Millisecond), client.WithSuite(r))
	if _, err := call(context.Background(), cli, "Get", "x"); !errors.Is(err, status.ErrTimeout) {
		t.Fatalf("got %v", err)
	}
	time.Sleep(350 * time.Millisecond)
	if n := rec.count(); n != 2 {
		t.Fatalf("%d hits, want 2", n)
	}
}

// No attempt starts that the method's recent latency says cannot finish
// before the context's deadline.
func TestDeadlineStop(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		if h.in == "slow" {
			time.Sleep(600 * time.Millisecond)
		} else {
			time.Sleep(150 * time.Millisecond)
		}
		return []byte(h.in), nil
	})
	r := retry.New(retry.WithIdempotent("Get"), retry.WithMethodPolicy("Get", retry.Policy{MaxAttempts: 3, MaxDuration: time.Minute}))
	cli := newClient(t, client.WithHostPorts(a), client.WithSuite(r))
	// Learn the method's latency: 150 ms.
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			if _, err := call(context.Background(), cli, "Get", "fast"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// 300 ms of deadline, 200 ms per attempt: after the first attempt times
	// out, 100 ms are left, less than the 150 ms an attempt takes.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := call(ctx, cli, "Get", "slow", client.WithCallTimeout(200*time.Millisecond))
	if !errors.Is(err, status.ErrTimeout) {
		t.Fatalf("got %v", err)
	}
	if st := r.Stats(); st.DeadlineStops != 1 || st.Retries != 0 {
		t.Fatalf("stats %+v", st)
	}
	time.Sleep(650 * time.Millisecond) // the slow handler ends
}

// The budget caps retries at 100 % failure: about Ratio of the calls,
// plus the burst and the minimum rate.
func TestBudgetCapsRetries(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		return nil, status.New(status.Unavailable, "down")
	})
	r := retry.New(retry.WithIdempotent("Get"), retry.WithMethodPolicy("Get", retry.Policy{MaxAttempts: 3, Codes: []status.Code{status.Unavailable}}))
	cli := newClient(t, client.WithHostPorts(a), client.WithSuite(r))
	const calls = 1000
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int32
	for range 8 {
		wg.Go(func() {
			for next.Add(1) <= calls {
				_, _ = call(context.Background(), cli, "Get", "x")
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	st := r.Stats()
	b := retry.DefaultBudget
	limit := b.Ratio*calls + b.Burst + b.MinPerSecond*(elapsed+1)
	t.Logf("%d calls, %d retries (%.1f %%), %d budget stops, %.2f s; limit %.0f", st.Calls, st.Retries,
		100*float64(st.Retries)/float64(st.Calls), st.BudgetStops, elapsed, limit)
	if st.Calls != calls || float64(st.Retries) > limit || st.BudgetStops == 0 {
		t.Fatalf("stats %+v, limit %.0f", st, limit)
	}
	if n := rec.count(); int64(n) != st.Attempts {
		t.Fatalf("%d server hits, %d attempts", n, st.Attempts)
	}
}

// Per-method policies, a per-call policy (given or named), and updates
// at run time.
func TestPoliciesAndUpdates(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		return nil, status.New(status.Unavailable, "down")
	})
	retryUnavailable := retry.Policy{MaxAttempts: 2, Codes: []status.Code{status.Unavailable}, Budget: retry.Budget{Off: true}}
	r := retry.New(retry.WithIdempotent("Get", "Put"), retry.WithMethodPolicy("Get", retryUnavailable))
	cli := newClient(t, client.WithHostPorts(a), client.WithSuite(r))
	hitsOf := func(method string, opts ...client.CallOption) int {
		before := rec.count()
		_, _ = call(context.Background(), cli, method, "x", opts...)
		return rec.count() - before
	}
	if n := hitsOf("Get"); n != 2 {
		t.Fatalf("Get: %d hits, want 2", n)
	}
	if n := hitsOf("Put"); n != 1 {
		t.Fatalf("Put without a policy: %d hits, want 1", n)
	}
	if n := hitsOf("Put", retry.WithPolicy(retry.Policy{MaxAttempts: 3, Codes: []status.Code{status.Unavailable}, Budget: retry.Budget{Off: true}})); n != 3 {
		t.Fatalf("Put with a per-call policy: %d hits, want 3", n)
	}
	if n := hitsOf("Get", retry.WithoutRetry()); n != 1 {
		t.Fatalf("Get WithoutRetry: %d hits, want 1", n)
	}
	r.SetPolicy("Get", retry.Policy{MaxAttempts: 4, Codes: []status.Code{status.Unavailable}, Budget: retry.Budget{Off: true}})
	if n := hitsOf("Get"); n != 4 {
		t.Fatalf("Get after SetPolicy: %d hits, want 4", n)
	}
	r.SetPolicy("batch", retryUnavailable)
	if n := hitsOf("Put", retry.WithPolicyNamed("batch")); n != 2 {
		t.Fatalf("named policy: %d hits, want 2", n)
	}
	r.SetPolicy("batch", retry.Policy{MaxAttempts: 3, Codes: []status.Code{status.Unavailable}, Budget: retry.Budget{Off: true}})
	if n := hitsOf("Put", retry.WithPolicyNamed("batch")); n != 3 {
		t.Fatalf("named policy updated: %d hits, want 3", n)
	}
	r.DeletePolicy("Get")
	if n := hitsOf("Get"); n != 1 {
		t.Fatalf("Get after DeletePolicy: %d hits, want 1", n)
	}
	if p, ok := r.Policy("batch"); !ok || p.MaxAttempts != 3 {
		t.Fatalf("Policy: %+v %v", p, ok)
	}
}

// The fallback replaces the final error and fills the result.
func TestFallback(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		return nil, status.New(status.Internal, "broken")
	})
	var seen error
	r := retry.New(retry.WithFallback(func(ctx context.Context, req, resp any, err error) error {
		seen = err
		resp.(*Bytes).B = []byte("fallback")
		return nil
	}))
	tr := &reportTracer{}
	cli := newClient(t, client.WithHostPorts(a), client.WithSuite(r), client.WithTracer(tr))
	out, err := call(context.Background(), cli, "Get", "x")
	if err != nil || out != "fallback" || status.CodeOf(seen) != status.Internal {
		t.Fatalf("got %q, %v; fallback saw %v", out, err, seen)
	}
	if rep := tr.last(); rep == nil || !rep.Fallback {
		t.Fatalf("report %+v", rep)
	}
	want := errors.New("per call")
	_, err = call(context.Background(), cli, "Get", "x", retry.WithCallFallback(func(context.Context, any, any, error) error { return want }))
	if err != want {
		t.Fatalf("per-call fallback: %v", err)
	}
	if st := r.Stats(); st.Fallbacks != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// With a slow and a fast instance, a backup request sent after the delay
// to the other instance answers first: latency is about the delay plus the
// fast reply, with exactly two server hits. The loser's late reply is
// discarded and its connection goes back to the pool.
func TestBackupRequest(t *testing.T) {
	var rec hits
	slowDone := make(chan struct{}, 1)
	slow := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		time.Sleep(300 * time.Millisecond)
		select {
		case slowDone <- struct{}{}:
		default:
		}
		return []byte("slow"), nil
	})
	fast := startServer(t, 2, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		return []byte("fast"), nil
	})
	r := retry.New(retry.WithIdempotent("Get"), retry.WithMethodPolicy("Get", retry.Policy{BackupDelay: 50 * time.Millisecond, MaxAttempts: 2}))
	tr := &reportTracer{}
	// Round robin starts with the first address: the slow one.
	cli := newClient(t, client.WithHostPorts(slow, fast), client.WithRPCTimeout(2*time.Second), client.WithSuite(r), client.WithTracer(tr))
	start := time.Now()
	out, err := call(context.Background(), cli, "Get", "x")
	took := time.Since(start)
	if err != nil || out != "fast" {
		t.Fatalf("got %q, %v", out, err)
	}
	t.Logf("backup request answered in %v", took)
	if took < 50*time.Millisecond || took > 250*time.Millisecond {
		t.Fatalf("took %v, want about 50 ms", took)
	}
	rep := tr.last()
	if rep == nil || len(rep.Tries) != 2 || rep.Tries[1].Kind != retry.Hedge || !rep.Tries[1].Won || !rep.Tries[0].Abandoned {
		t.Fatalf("report %+v", rep)
	}
	<-slowDone
	time.Sleep(50 * time.Millisecond) // the late reply arrives and is discarded
	hs := rec.all()
	if len(hs) != 2 || hs[0].server != 1 || hs[1].server != 2 {
		t.Fatalf("hits %+v", hs)
	}
	// The loser's connection went back to the pool: the next call to the
	// slow instance reuses it.
	if _, err := call(context.Background(), cli, "Get", "y", client.WithHostPort(slow), retry.WithoutRetry()); err != nil {
		t.Fatal(err)
	}
	<-slowDone
	if hs := rec.all(); len(hs) != 3 || hs[2].conn != hs[0].conn {
		t.Fatalf("the loser's connection was not reused: %+v", hs)
	}
	if st := r.Stats(); st.Hedges != 1 || st.Calls != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// BackupPercentile sends the backup request after the given percentile
// of the method's recent latencies, once enough are known.
func TestBackupPercentile(t *testing.T) {
	var rec hits
	var slowOnce atomic.Bool
	do := func(ctx context.Context, n int, h hit) ([]byte, error) {
		if h.in == "slow" && slowOnce.CompareAndSwap(false, true) {
			sleep(ctx, 500*time.Millisecond)
		} else {
			time.Sleep(20 * time.Millisecond)
		}
		return []byte(h.in), nil
	}
	a, b := startServer(t, 1, &rec, do), startServer(t, 2, &rec, do)
	r := retry.New(retry.WithIdempotent("Get"), retry.WithMethodPolicy("Get",
		retry.Policy{BackupDelay: 400 * time.Millisecond, BackupPercentile: 0.9, Budget: retry.Budget{Off: true}}))
	cli := newClient(t, client.WithHostPorts(a, b), client.WithRPCTimeout(2*time.Second), client.WithSuite(r))
	// Learn the latency (20 ms): until then the backup delay is 400 ms.
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			if _, err := call(context.Background(), cli, "Get", "warm"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if st := r.Stats(); st.Hedges != 0 {
		t.Fatalf("hedges while learning: %+v", st)
	}
	start := time.Now()
	if out, err := call(context.Background(), cli, "Get", "slow"); err != nil || out != "slow" {
		t.Fatalf("got %q, %v", out, err)
	}
	took := time.Since(start)
	t.Logf("with a backup after p90 (about 20 ms): %v", took)
	if took > 250*time.Millisecond {
		t.Fatalf("took %v: the backup request did not go after the learnt p90", took)
	}
	if st := r.Stats(); st.Hedges != 1 {
		t.Fatalf("stats %+v", st)
	}
	time.Sleep(500 * time.Millisecond) // the loser ends
}

// Mixed: a failed attempt is retried at once, beside a backup request.
func TestMixedRetriesFailures(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		if n == 1 {
			return nil, status.New(status.Unavailable, "down")
		}
		return []byte("ok"), nil
	})
	r := retry.New(retry.WithIdempotent("Get"), retry.WithMethodPolicy("Get", retry.Policy{BackupDelay: time.Second, Codes: []status.Code{status.Unavailable}}))
	cli := newClient(t, client.WithHostPorts(a), client.WithRPCTimeout(2*time.Second), client.WithSuite(r))
	start := time.Now()
	if out, err := call(context.Background(), cli, "Get", "x"); err != nil || out != "ok" {
		t.Fatalf("got %q %v", out, err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("the failure waited for the backup delay: %v", d)
	}
	if st := r.Stats(); st.Retries != 1 || st.Hedges != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// BackupOnly: the first reply ends the call, even a failure.
func TestBackupOnlyEndsOnFailure(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		return nil, status.New(status.Unavailable, "down")
	})
	r := retry.New(retry.WithIdempotent("Get"), retry.WithMethodPolicy("Get",
		retry.Policy{BackupDelay: time.Second, BackupOnly: true, Codes: []status.Code{status.Unavailable}}))
	cli := newClient(t, client.WithHostPorts(a), client.WithRPCTimeout(2*time.Second), client.WithSuite(r))
	if _, err := call(context.Background(), cli, "Get", "x"); status.CodeOf(err) != status.Unavailable {
		t.Fatalf("got %v", err)
	}
	if n := rec.count(); n != 1 {
		t.Fatalf("%d hits, want 1", n)
	}
}

// The circuit stops retries while most attempts fail.
func TestCircuitStopsRetries(t *testing.T) {
	var rec hits
	a := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) ([]byte, error) {
		return nil, status.New(status.Unavailable, "down")
	})
	r := retry.New(retry.WithIdempotent("Get"), retry.WithMethodPolicy("Get", retry.Policy{
		Codes: []status.Code{status.Unavailable}, Budget: retry.Budget{Off: true},
		Circuit: &retry.Circuit{ErrorRate: 0.5, MinSamples: 10},
	}))
	cli := newClient(t, client.WithHostPorts(a), client.WithSuite(r))
	for range 20 {
		_, _ = call(context.Background(), cli, "Get", "x")
	}
	st := r.Stats()
	// The first calls retry until 10 attempts are seen (4 calls: 3, 3, 3,
	// then one retry of the fourth); from then on the circuit is open.
	if st.CircuitStops < 15 || st.Retries > 8 {
		t.Fatalf("stats %+v", st)
	}
}

// reportTracer keeps the retry report of the last call.
type reportTracer struct {
	mu  sync.Mutex
	rep *retry.Report
}

func (t *reportTracer) Start(ctx context.Context) context.Context { return ctx }

func (t *reportTracer) Finish(ctx context.Context) {
	rep, _ := retry.ReportFrom(ctx)
	t.mu.Lock()
	t.rep = rep
	t.mu.Unlock()
}

func (t *reportTracer) last() *retry.Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rep
}
