package limiter_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/limiter"
)

// TestThrottle drives a Throttle with a server that rejects everything,
// then one that accepts everything.
func TestThrottle(t *testing.T) {
	th := limiter.NewThrottle(limiter.WithWindow(400 * time.Millisecond))
	serverDown := true
	sent := 0
	ep := th.Middleware()(func(context.Context, any, any) error {
		sent++
		if serverDown {
			return status.FromWire(status.ResourceExhausted, status.KindOverload, 0, "shed")
		}
		return nil
	})
	if p := th.Probability(); p != 0 {
		t.Fatalf("fresh throttle: probability %v", p)
	}
	local := 0
	for range 1000 {
		err := ep(context.Background(), nil, nil)
		if !errors.Is(err, status.ErrOverload) {
			t.Fatalf("call to a rejecting server: %v", err)
		}
		if !errors.Is(err, status.ErrRemote) {
			local++
		}
	}
	// With every call rejected, the probability tends to 1: only a few
	// calls go out to notice a recovery.
	if sent > 100 || local != 1000-sent || th.Throttled() != uint64(local) {
		t.Fatalf("%d of 1000 calls sent to a server rejecting all, %d throttled (counter %d)", sent, local, th.Throttled())
	}
	if p := th.Probability(); p < 0.9 {
		t.Fatalf("probability %v after 1000 rejections, want near 1", p)
	}
	// The server recovers: once the window has forgotten the rejections,
	// every call goes out.
	serverDown = false
	time.Sleep(500 * time.Millisecond)
	sent = 0
	for range 1000 {
		if err := ep(context.Background(), nil, nil); err != nil {
			t.Fatalf("call to a recovered server: %v", err)
		}
	}
	if sent != 1000 || th.Probability() != 0 {
		t.Fatalf("recovered server: %d of 1000 sent, probability %v", sent, th.Probability())
	}
}

// TestThrottleIgnoresOtherErrors checks that only overload rejections
// (by default) count against the server.
func TestThrottleIgnoresOtherErrors(t *testing.T) {
	th := limiter.NewThrottle()
	ep := th.Middleware()(func(context.Context, any, any) error {
		return status.Remote(status.Internal, status.TypeInternalError, "handler failed")
	})
	for range 500 {
		if err := ep(context.Background(), nil, nil); errors.Is(err, status.ErrOverload) {
			t.Fatalf("throttled a server that answers errors but does not reject: %v", err)
		}
	}
	timeouts := limiter.NewThrottle(limiter.WithK(1.5), limiter.WithRejected(func(err error) bool {
		return errors.Is(err, status.ErrTimeout)
	}))
	tep := timeouts.Middleware()(func(context.Context, any, any) error { return status.ErrTimeout })
	for range 500 {
		_ = tep(context.Background(), nil, nil)
	}
	if timeouts.Throttled() < 400 {
		t.Fatalf("timeouts counted as rejections: only %d of 500 throttled", timeouts.Throttled())
	}
}
