package retry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/retry"
)

// TestFailureRetry: a server that fails the first two attempts with a
// timeout (it answers after the client gave up) is hit three times, and
// the call succeeds.
func TestFailureRetry(t *testing.T) {
	for _, st := range stacks() {
		t.Run(st.name, func(t *testing.T) {
			var rec hits
			addr := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) (string, error) {
				if n <= 2 {
					// Ignores its context, whose deadline is the caller's
					// (sent in the request): it answers after the caller
					// gave up, never at the same moment.
					time.Sleep(300 * time.Millisecond)
				}
				return h.text, nil
			})
			r := retry.New(retry.WithIdempotent(st.method), retry.WithMethodPolicy(st.method, retry.Policy{MaxAttempts: 3}))
			call := st.dial(t, client.WithHostPorts(addr), client.WithRPCTimeout(100*time.Millisecond), client.WithSuite(r))
			out, err := call(context.Background(), "hello")
			if err != nil || out != "hello" {
				t.Fatalf("got %q, %v", out, err)
			}
			time.Sleep(300 * time.Millisecond) // the slow handlers end
			hs := rec.all()
			if len(hs) != 3 {
				t.Fatalf("%d server hits, want 3", len(hs))
			}
			if hs[0].marked || !hs[1].marked || !hs[2].marked {
				t.Fatalf("retry markers %+v: want none on the first attempt, one on each retry", hs)
			}
			if s := r.Stats(); s.Retries != 2 || s.Calls != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestChainStop: A calls B over TTHeader, B calls C over gRPC, each with a
// retry policy, and C is always too slow. A's first attempt makes B retry
// C (B's request is not a retry). A's retry carries the RetryReq marker;
// C sees it (it crossed TTHeader and then gRPC as a persistent value), and
// B does not retry C for it.
func TestChainStop(t *testing.T) {
	var cHits hits
	c := startServer(t, 3, &cHits, func(ctx context.Context, n int, h hit) (string, error) {
		// Ignores its context: the caller only ever sees its own timeout,
		// never an early answer.
		time.Sleep(300 * time.Millisecond)
		return h.text, nil
	})
	toC := retry.New(retry.WithIdempotent("SayHello"), retry.WithMethodPolicy("SayHello", retry.Policy{MaxAttempts: 3}))
	callC := grpcStack().dial(t, client.WithHostPorts(c), client.WithRPCTimeout(100*time.Millisecond), client.WithSuite(toC))
	var bHits hits
	var invocations atomic.Int32
	b := startServer(t, 2, &bHits, func(ctx context.Context, n int, h hit) (string, error) {
		inv := fmt.Sprintf("inv-%d", invocations.Add(1))
		return callC(ctx, inv)
	})
	// A retries its own timeout, and also B's DeadlineExceeded (B may
	// answer with it just before A's own timer fires: B's handler has A's
	// deadline).
	toB := retry.New(retry.WithIdempotent("Echo"), retry.WithMethodPolicy("Echo",
		retry.Policy{MaxAttempts: 2, Codes: []status.Code{status.DeadlineExceeded}}))
	callB := ttheaderStack().dial(t, client.WithHostPorts(b), client.WithRPCTimeout(250*time.Millisecond), client.WithSuite(toB))

	_, err := callB(context.Background(), "x")
	if err == nil {
		t.Fatal("the call succeeded; C is always too slow")
	}
	time.Sleep(500 * time.Millisecond) // every hop's slow work ends
	bs := bHits.all()
	if len(bs) != 2 || bs[0].marked || !bs[1].marked {
		t.Fatalf("B's hits %+v: want A's first attempt, then its retry with the marker", bs)
	}
	var first, second []hit
	for _, h := range cHits.all() {
		switch h.text {
		case "inv-1":
			first = append(first, h)
		case "inv-2":
			second = append(second, h)
		}
	}
	t.Logf("C's hits for B's first invocation: %d, for the retried one: %d", len(first), len(second))
	if len(first) < 2 {
		t.Fatalf("B did not retry C for a request that was not a retry: %+v", first)
	}
	if len(second) != 1 || !second[0].marked {
		t.Fatalf("for A's retry, C's hits %+v: want exactly one, carrying the marker", second)
	}
	if s := toC.Stats(); s.ChainStops != 1 {
		t.Fatalf("B's retry stats %+v: want one chain stop", s)
	}
}

// TestBackupRequest: one instance answers in 300 ms, the other at once. A
// backup request sent after 50 ms to the other instance wins: the call
// takes about 50 ms plus the fast reply, with exactly two server hits.
func TestBackupRequest(t *testing.T) {
	const delay = 50 * time.Millisecond
	policy := retry.Policy{BackupDelay: delay, MaxAttempts: 2}

	t.Run("ttheader", func(t *testing.T) {
		var rec hits
		slowDone := make(chan struct{}, 4)
		slow := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) (string, error) {
			time.Sleep(300 * time.Millisecond) // ignores cancellation: the reply comes late
			slowDone <- struct{}{}
			return "slow", nil
		})
		fast := startServer(t, 2, &rec, func(ctx context.Context, n int, h hit) (string, error) { return "fast", nil })
		r := retry.New(retry.WithIdempotent("Echo"), retry.WithMethodPolicy("Echo", policy))
		// Round robin starts with the first address, the slow one.
		// Pooled connections, one call each (the default mode would
		// multiplex these Skiff servers; the subtest below does).
		call := ttheaderStack(client.WithLongConnection(client.PoolConfig{})).dial(t, client.WithHostPorts(slow, fast), client.WithRPCTimeout(2*time.Second), client.WithSuite(r))
		start := time.Now()
		out, err := call(context.Background(), "x")
		took := time.Since(start)
		if err != nil || out != "fast" {
			t.Fatalf("got %q, %v", out, err)
		}
		t.Logf("backup request over TTHeader answered in %v (delay %v)", took, delay)
		if took < delay || took > delay+200*time.Millisecond {
			t.Fatalf("took %v, want about %v", took, delay)
		}
		<-slowDone
		time.Sleep(100 * time.Millisecond) // the late reply arrives and is discarded
		hs := rec.all()
		if len(hs) != 2 || hs[0].server != 1 || hs[1].server != 2 {
			t.Fatalf("hits %+v: want exactly one on each instance", hs)
		}
		// The loser's connection went back to the pool once its reply
		// arrived: the next call to the slow instance reuses it, and no
		// other connection to it was opened.
		out, err = call(context.Background(), "y", client.WithHostPort(slow), retry.WithoutRetry())
		if err != nil || out != "slow" {
			t.Fatalf("got %q, %v", out, err)
		}
		<-slowDone
		hs = rec.all()
		if len(hs) != 3 || hs[2].conn != hs[0].conn {
			t.Fatalf("hits %+v: the loser's connection was not reused", hs)
		}
		if s := r.Stats(); s.Hedges != 1 {
			t.Fatalf("stats %+v", s)
		}
	})

	t.Run("ttheader-reply-never-comes", func(t *testing.T) {
		// The loser's reply does not come within the RPC timeout: its
		// connection is closed then, and the next call dials a new one.
		var rec hits
		slowDone := make(chan struct{}, 4)
		slow := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) (string, error) {
			if h.text == "x" {
				time.Sleep(900 * time.Millisecond)
			}
			slowDone <- struct{}{}
			return "slow", nil
		})
		fast := startServer(t, 2, &rec, func(ctx context.Context, n int, h hit) (string, error) { return "fast", nil })
		r := retry.New(retry.WithIdempotent("Echo"), retry.WithMethodPolicy("Echo", policy))
		call := ttheaderStack(client.WithLongConnection(client.PoolConfig{})).dial(t, client.WithHostPorts(slow, fast), client.WithRPCTimeout(400*time.Millisecond), client.WithSuite(r))
		if out, err := call(context.Background(), "x"); err != nil || out != "fast" {
			t.Fatalf("got %q, %v", out, err)
		}
		<-slowDone // 900 ms: the loser gave up at 400 ms and closed its connection
		out, err := call(context.Background(), "y", client.WithHostPort(slow), retry.WithoutRetry())
		if err != nil || out != "slow" {
			t.Fatalf("got %q, %v", out, err)
		}
		<-slowDone
		hs := rec.all()
		if len(hs) != 3 || hs[2].conn == hs[0].conn {
			t.Fatalf("hits %+v: the connection whose reply never came was reused", hs)
		}
	})

	t.Run("grpc", func(t *testing.T) {
		var rec hits
		canceled := make(chan struct{}, 1)
		slow := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) (string, error) {
			if sleep(ctx, 300*time.Millisecond) {
				canceled <- struct{}{}
				return "", ctx.Err()
			}
			return "slow", nil
		})
		fast := startServer(t, 2, &rec, func(ctx context.Context, n int, h hit) (string, error) { return "fast", nil })
		r := retry.New(retry.WithIdempotent("SayHello"), retry.WithMethodPolicy("SayHello", policy))
		call := grpcStack().dial(t, client.WithHostPorts(slow, fast), client.WithRPCTimeout(2*time.Second), client.WithSuite(r))
		start := time.Now()
		out, err := call(context.Background(), "x")
		took := time.Since(start)
		if err != nil || out != "fast" {
			t.Fatalf("got %q, %v", out, err)
		}
		t.Logf("backup request over gRPC answered in %v (delay %v)", took, delay)
		if took < delay || took > delay+200*time.Millisecond {
			t.Fatalf("took %v, want about %v", took, delay)
		}
		select {
		case <-canceled:
			// RST_STREAM reached the server: the loser's handler context is done
			// well before its 300 ms.
			if d := time.Since(start); d > 250*time.Millisecond {
				t.Fatalf("the loser was canceled only after %v", d)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("the loser's handler context was never done")
		}
		if hs := rec.all(); len(hs) != 2 || hs[0].server != 1 || hs[1].server != 2 {
			t.Fatalf("hits %+v: want exactly one on each instance", hs)
		}
	})

	t.Run("ttheader-multiplexed", func(t *testing.T) {
		var rec hits
		slowDone := make(chan struct{}, 1)
		slow := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) (string, error) {
			time.Sleep(300 * time.Millisecond)
			slowDone <- struct{}{}
			return "slow", nil
		})
		fast := startServer(t, 2, &rec, func(ctx context.Context, n int, h hit) (string, error) { return "fast", nil })
		r := retry.New(retry.WithIdempotent("Echo"), retry.WithMethodPolicy("Echo", policy))
		call := ttheaderStack(client.WithMultiplex(1)).dial(t, client.WithHostPorts(slow, fast), client.WithRPCTimeout(2*time.Second), client.WithSuite(r))
		start := time.Now()
		out, err := call(context.Background(), "x")
		if took := time.Since(start); err != nil || out != "fast" || took > delay+200*time.Millisecond {
			t.Fatalf("got %q, %v in %v", out, err, took)
		}
		<-slowDone
		// The late reply is read off the shared connection and dropped; the
		// connection keeps serving.
		if out, err := call(context.Background(), "y", client.WithHostPort(slow), retry.WithoutRetry()); err != nil || out != "slow" {
			t.Fatalf("got %q, %v", out, err)
		}
		<-slowDone
		if hs := rec.all(); len(hs) != 3 || hs[2].conn != hs[0].conn {
			t.Fatalf("hits %+v: want the multiplexed connection reused", hs)
		}
	})
}

// TestBudget: every call fails with a retried code; the budget holds the
// retries to its 10 % of the calls plus its burst and minimum rate.
func TestBudget(t *testing.T) {
	for _, st := range stacks() {
		t.Run(st.name, func(t *testing.T) {
			var rec hits
			addr := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) (string, error) {
				return "", status.New(status.Unavailable, "down")
			})
			r := retry.New(retry.WithIdempotent(st.method),
				retry.WithMethodPolicy(st.method, retry.Policy{MaxAttempts: 3, Codes: []status.Code{status.Unavailable}}))
			call := st.dial(t, client.WithHostPorts(addr), client.WithRPCTimeout(2*time.Second), client.WithSuite(r))
			const calls = 1000
			var next atomic.Int32
			var wg sync.WaitGroup
			start := time.Now()
			for range 8 {
				wg.Go(func() {
					for next.Add(1) <= calls {
						if _, err := call(context.Background(), "x"); status.CodeOf(err) != status.Unavailable {
							t.Errorf("got %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start).Seconds()
			s := r.Stats()
			b := retry.DefaultBudget
			ratio := float64(s.Retries) / float64(s.Calls)
			slack := (b.Burst + b.MinPerSecond*(elapsed+1)) / calls
			t.Logf("%d calls, %d server hits, %d retries: %.1f %% (budget %.0f %%, burst and minimum rate %.1f %%), %.2f s",
				s.Calls, rec.count(), s.Retries, 100*ratio, 100*b.Ratio, 100*slack, elapsed)
			if s.Calls != calls || ratio > b.Ratio+slack {
				t.Fatalf("retry ratio %.3f above %.3f", ratio, b.Ratio+slack)
			}
			// Every attempt reached the server, except those whose request
			// could not be sent (a connection that failed under load).
			if n := int64(rec.count()); n > s.Attempts || n < s.Attempts-s.UnsentRetries-1 {
				t.Fatalf("%d server hits, %d attempts counted (%d unsent retries)", n, s.Attempts, s.UnsentRetries)
			}
		})
	}
}

// TestIdempotency: Echo is not marked idempotent. A sent request that
// timed out is not retried; a request that could not be sent (the first
// instance is down) is retried on the other instance.
func TestIdempotency(t *testing.T) {
	var rec hits
	addr := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) (string, error) {
		if h.text == "slow" {
			time.Sleep(300 * time.Millisecond) // past the caller's timeout, whatever its context says
		}
		return h.text, nil
	})
	r := retry.New(retry.WithMethodPolicy(retry.AnyMethod, retry.Policy{MaxAttempts: 3}))
	call := ttheaderStack().dial(t, client.WithHostPorts(deadAddr(t), addr), client.WithRPCTimeout(100*time.Millisecond), client.WithSuite(r))
	for i := range 4 {
		if out, err := call(context.Background(), "ok"); err != nil || out != "ok" {
			t.Fatalf("call %d: %q, %v", i, out, err)
		}
	}
	// The dead instance refuses connections: core balances such a call
	// once more by itself (nothing was sent), so the retry policy may
	// never see the failure; either way no call failed.
	if s := r.Stats(); s.IdempotencyStops != 0 {
		t.Fatalf("stats %+v: an unsent request was treated as sent", s)
	}
	before := rec.count()
	var err error
	for range 2 { // one of the two goes to the live instance first
		_, err = call(context.Background(), "slow")
	}
	if !errors.Is(err, status.ErrTimeout) {
		t.Fatalf("got %v, want the timeout", err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := rec.count() - before; n != 2 {
		t.Fatalf("%d server hits for two sent calls that timed out, want 2 (no retry)", n)
	}
	if s := r.Stats(); s.IdempotencyStops != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// TestPolicies: a per-method policy, a per-call policy (given, and named
// in the Retryer), and updates at run time, over TTHeader.
func TestPolicies(t *testing.T) {
	var rec hits
	addr := startServer(t, 1, &rec, func(ctx context.Context, n int, h hit) (string, error) {
		return "", status.New(status.Unavailable, "down")
	})
	// Retry Unavailable up to n attempts; the budget is off so that the
	// counts do not depend on the order of the checks (with it, the 10
	// retries of its burst would be spent half-way).
	upTo := func(n int) retry.Policy {
		return retry.Policy{MaxAttempts: n, Codes: []status.Code{status.Unavailable}, Budget: retry.Budget{Off: true}}
	}
	r := retry.New(retry.WithIdempotent("Echo", "Fail"), retry.WithMethodPolicy("Echo", upTo(2)))
	call := ttheaderStack().dial(t, client.WithHostPorts(addr), client.WithRPCTimeout(2*time.Second), client.WithSuite(r))
	hitsOf := func(opts ...client.CallOption) int {
		before := rec.count()
		_, _ = call(context.Background(), "x", opts...)
		return rec.count() - before
	}
	check := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: %d server hits, want %d", what, got, want)
		}
	}
	check("per-method policy", hitsOf(), 2)
	check("per-call policy", hitsOf(retry.WithPolicy(upTo(4))), 4)
	check("per-call WithoutRetry", hitsOf(retry.WithoutRetry()), 1)
	r.SetPolicy("Echo", upTo(3))
	check("after SetPolicy", hitsOf(), 3)
	r.SetPolicy("gold", upTo(5))
	check("named per-call policy", hitsOf(retry.WithPolicyNamed("gold")), 5)
	r.SetPolicy("gold", upTo(2))
	check("named per-call policy after its update", hitsOf(retry.WithPolicyNamed("gold")), 2)
	r.DeletePolicy("Echo")
	check("after DeletePolicy", hitsOf(), 1)
	if s := r.Stats(); s.Calls != 6 {
		t.Fatalf("stats %+v: want 6 calls with a policy", s)
	}
}
