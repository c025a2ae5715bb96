package limiter

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/status"
)

// Throttle defaults.
const (
	// DefaultThrottleK is the multiplier K: the client sends freely while
	// the server accepts at least 1/K of the calls.
	DefaultThrottleK = 2.0
	// DefaultThrottleWindow is how far back requests and accepts are
	// counted.
	DefaultThrottleWindow = 10 * time.Second
)

// throttleBuckets is the number of buckets the window is counted in.
const throttleBuckets = 10

// ThrottleOption configures a [Throttle].
type ThrottleOption interface{ applyThrottle(*Throttle) }

type throttleOptionFunc func(*Throttle)

func (f throttleOptionFunc) applyThrottle(t *Throttle) { f(t) }

// WithK sets the multiplier K (default 2; values below 1 are taken as 1).
// A lower K throttles sooner and wastes less of the server's work on
// calls it rejects; a higher K sends more and lets the server shed.
func WithK(k float64) ThrottleOption {
	return throttleOptionFunc(func(t *Throttle) { t.k = max(k, 1) })
}

// WithWindow sets how far back requests and accepts count (default 10 s;
// at least 10 ms). A shorter window reacts faster to a recovering server.
func WithWindow(d time.Duration) ThrottleOption {
	return throttleOptionFunc(func(t *Throttle) {
		t.bucket = max(int64(d/throttleBuckets), int64(time.Millisecond))
	})
}

// WithRejected sets what counts as a call the server did not accept
// (default: an overload rejection from the server, that is an error
// matching both status.ErrOverload and status.ErrRemote). Count timeouts
// too, for example, to throttle a server that stops answering instead of
// rejecting. The Throttle's own rejections never reach the server and
// count as requests only.
func WithRejected(rejected func(error) bool) ThrottleOption {
	return throttleOptionFunc(func(t *Throttle) {
		if rejected != nil {
			t.rejected = rejected
		}
	})
}

// Throttle is client-side adaptive throttling, as in Google's SRE book
// ("Handling Overload"): the client counts, over a sliding window, the
// calls it was asked to make (requests) and those the server accepted
// (accepts), and rejects a new call itself with probability
//
//	max(0, (requests - K*accepts) / (requests + 1))
//
// returning an error matching status.ErrOverload (not status.ErrRemote:
// the call was not sent). While the server accepts everything the
// probability is 0 and every call goes out; once it rejects more than
// 1-1/K of them, the client sheds the excess before it costs the server
// anything, and lets enough through to notice when the server recovers.
//
// Install it on a client with client.WithSuite(t) (a client.Suite adding
// its middleware); use one Throttle per client. It is safe for concurrent
// use.
type Throttle struct {
	k         float64
	bucket    int64 // ns per bucket
	rejected  func(error) bool
	epoch     time.Time
	ring      [throttleBuckets]throttleBucket
	throttled atomic.Uint64
	past      atomic.Pointer[pastSums] // the window's finished buckets, summed once per bucket
	err       *status.Error
}

// pastSums are the counts of the window's buckets before the current one.
type pastSums struct {
	epoch         int64 // the current bucket when they were summed
	requests, acc int64
}

type throttleBucket struct {
	epoch    atomic.Int64 // bucket index it counts for
	requests atomic.Int64
	accepts  atomic.Int64
}

// NewThrottle returns a Throttle with the options applied.
func NewThrottle(opts ...ThrottleOption) *Throttle {
	t := &Throttle{
		k:        DefaultThrottleK,
		bucket:   int64(DefaultThrottleWindow / throttleBuckets),
		rejected: serverOverload,
		epoch:    time.Now(),
		err:      status.Wrap(status.ErrOverload, "limiter: throttled by the client: the server has been rejecting calls", nil),
	}
	for _, o := range opts {
		o.applyThrottle(t)
	}
	for i := range t.ring {
		t.ring[i].epoch.Store(-1)
	}
	return t
}

// serverOverload reports whether err is a server's overload rejection.
func serverOverload(err error) bool {
	return errors.Is(err, status.ErrOverload) && errors.Is(err, status.ErrRemote)
}

// Options implements client.Suite: the throttle's middleware.
func (t *Throttle) Options() []client.Option {
	return []client.Option{client.WithMiddleware(t.Middleware())}
}

// Middleware returns the client middleware. Options installs it; placed
// before a retry middleware, it sees each call once, after it each
// attempt.
func (t *Throttle) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			e := t.epochNow()
			p := t.probabilityAt(e) // from the calls before this one
			b := t.bucketOf(e)
			b.requests.Add(1)
			if p > 0 && rand.Float64() < p {
				t.throttled.Add(1)
				return t.err
			}
			err := next(ctx, req, resp)
			if err == nil || !t.rejected(err) {
				b.accepts.Add(1) // counted in the bucket the call started in
			}
			return err
		}
	}
}

// Probability returns the probability with which the next call is
// rejected locally.
func (t *Throttle) Probability() float64 { return t.probability() }

// Throttled returns how many calls the Throttle has rejected itself.
func (t *Throttle) Throttled() uint64 { return t.throttled.Load() }

func (t *Throttle) probability() float64 { return t.probabilityAt(t.epochNow()) }

func (t *Throttle) probabilityAt(e int64) float64 {
	req, acc := t.sums(e)
	p := (float64(req) - t.k*float64(acc)) / float64(req+1)
	return max(p, 0)
}

// epochNow returns the index of the bucket period now.
func (t *Throttle) epochNow() int64 { return int64(time.Since(t.epoch)) / t.bucket }

// bucketOf returns the bucket of period e, reset if it held an older one.
func (t *Throttle) bucketOf(e int64) *throttleBucket {
	b := &t.ring[e%throttleBuckets]
	if old := b.epoch.Load(); old != e && b.epoch.CompareAndSwap(old, e) {
		// A few counts racing with the reset may be lost: the window is
		// an estimate.
		b.requests.Store(0)
		b.accepts.Store(0)
	}
	return b
}

// sums returns the requests and accepts of the window ending in period e:
// the finished buckets, summed once per period, plus the current one.
func (t *Throttle) sums(e int64) (req, acc int64) {
	p := t.past.Load()
	if p == nil || p.epoch != e {
		p = &pastSums{epoch: e}
		for i := range t.ring {
			b := &t.ring[i]
			if be := b.epoch.Load(); be >= 0 && be < e && e-be < throttleBuckets {
				p.requests += b.requests.Load()
				p.acc += b.accepts.Load()
			}
		}
		t.past.Store(p)
	}
	req, acc = p.requests, p.acc
	if b := &t.ring[e%throttleBuckets]; b.epoch.Load() == e {
		req += b.requests.Load()
		acc += b.accepts.Load()
	}
	return req, acc
}

var _ client.Suite = (*Throttle)(nil)
