package limiter

import (
	"math"
	"sync/atomic"
)

// bucketCfg is a token bucket's rate, as the generic cell rate algorithm
// sees it: one call costs interval nanoseconds of credit, and at most
// tolerance nanoseconds of credit may be spent ahead of time (the burst).
type bucketCfg struct {
	interval  int64
	tolerance int64
}

// tokenBucket is a lock-free token bucket (the generic cell rate
// algorithm: a bucket of burst tokens refilled at rate per second, kept as
// one theoretical arrival time). The zero value admits everything.
type tokenBucket struct {
	cfg atomic.Pointer[bucketCfg] // nil: no limit
	tat atomic.Int64              // theoretical arrival time, ns on the limiter's clock
}

// set changes the rate (calls per second; <= 0 removes the limit) and the
// burst (calls admitted at once after an idle spell; <= 0 means a tenth of
// a second's worth, at least 1).
func (b *tokenBucket) set(rate float64, burst int) {
	if rate <= 0 || math.IsNaN(rate) {
		b.cfg.Store(nil)
		return
	}
	if burst <= 0 {
		burst = int(math.Ceil(rate / 10))
	}
	interval := int64(math.Round(1e9 / rate))
	if interval < 1 {
		interval = 1
	}
	b.cfg.Store(&bucketCfg{interval: interval, tolerance: interval * int64(burst)})
}

// limited reports whether the bucket has a rate.
func (b *tokenBucket) limited() bool { return b.cfg.Load() != nil }

// take spends one token at time now (ns) and reports whether there was one.
func (b *tokenBucket) take(now int64) bool {
	c := b.cfg.Load()
	if c == nil {
		return true
	}
	for {
		tat := b.tat.Load()
		next := max(tat, now) + c.interval
		if next-now > c.tolerance {
			return false
		}
		if b.tat.CompareAndSwap(tat, next) {
			return true
		}
	}
}

// concLimit counts calls in flight against a limit (0: none).
type concLimit struct {
	limit    atomic.Int64
	inflight atomic.Int64
}

// acquire counts one more call in flight and reports whether it fits; a
// call that does not fit is not counted.
func (c *concLimit) acquire() bool {
	n := c.inflight.Add(1)
	if lim := c.limit.Load(); lim > 0 && n > lim {
		c.inflight.Add(-1)
		return false
	}
	return true
}

func (c *concLimit) release() { c.inflight.Add(-1) }
