package retry

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// methodState is what a Retryer keeps per target service and method:
// the budget's tokens, the circuit's window, recent latencies and the
// counters.
type methodState struct {
	calls      atomic.Int64
	tokens     atomic.Int64 // milli-tokens
	lastRefill atomic.Int64 // unix nanoseconds

	// pol is the installed policy the state was last resolved against and
	// gen the Retryer's policy generation it was resolved in.
	pol atomic.Pointer[policy]
	gen atomic.Uint64

	retries, hedges, unsent                       atomic.Int64
	budgetStops, circuitStops, chainStops         atomic.Int64
	deadlineStops, idempotencyStops, fallbackRuns atomic.Int64

	lat  latency
	circ circuitState
}

func newMethodState(now time.Time) *methodState {
	s := &methodState{}
	s.lastRefill.Store(now.UnixNano())
	s.tokens.Store(int64(DefaultBudget.Burst * 1000))
	s.lat.rotated.Store(now.UnixNano())
	return s
}

// deposit adds one call's share of a token.
func (s *methodState) deposit(b *Budget) {
	if b.Off {
		return
	}
	if s.tokens.Load() < int64(b.Burst*1000) {
		s.tokens.Add(int64(b.Ratio * 1000))
	}
}

// withdraw spends a token for a retry, and reports whether there was one.
func (s *methodState) withdraw(b *Budget, now time.Time) bool {
	if b.Off {
		return true
	}
	limit := int64(b.Burst * 1000)
	if b.MinPerSecond > 0 {
		n := now.UnixNano()
		if last := s.lastRefill.Load(); n > last && s.lastRefill.CompareAndSwap(last, n) {
			add := int64(float64(n-last) / float64(time.Second) * b.MinPerSecond * 1000)
			for {
				v := s.tokens.Load()
				nv := min(v+add, limit)
				if nv <= v || s.tokens.CompareAndSwap(v, nv) {
					break
				}
			}
		}
	}
	for {
		v := s.tokens.Load()
		if v < 1000 {
			return false
		}
		if s.tokens.CompareAndSwap(v, v-1000) {
			return true
		}
	}
}

// latency keeps a histogram of recent attempt latencies in two
// generations: the current one and the one before, each about
// latencyPeriod long.
type latency struct {
	gen     [2][latBuckets]atomic.Uint32
	cur     atomic.Uint32
	rotated atomic.Int64
}

// latBuckets buckets cover 1 µs to about 2^25 µs (33 s) with four buckets
// per octave (each 12 to 25 % wide).
const (
	latBuckets    = 24 * 4
	latencyPeriod = 5 * time.Second
	// minLatencySamples is the fewest latencies a percentile is computed
	// from.
	minLatencySamples = 20
)

func latBucket(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	if us < 4 {
		return int(us)
	}
	l := bits.Len64(us) - 1 // octave: 2^l <= us < 2^(l+1)
	i := (l-1)*4 + int(us>>(l-2))&3
	return min(i, latBuckets-1)
}

// latUpper is the upper edge of bucket i.
func latUpper(i int) time.Duration {
	if i < 4 {
		return time.Duration(i+1) * time.Microsecond
	}
	l, sub := i/4+1, i%4
	return time.Duration(uint64(5+sub)<<(l-2)) * time.Microsecond
}

func (l *latency) record(d time.Duration, now time.Time) {
	n := now.UnixNano()
	if r := l.rotated.Load(); n-r > int64(latencyPeriod) && l.rotated.CompareAndSwap(r, n) {
		next := 1 - l.cur.Load()
		for i := range l.gen[next] {
			l.gen[next][i].Store(0)
		}
		l.cur.Store(next)
	}
	l.gen[l.cur.Load()][latBucket(d)].Add(1)
}

// quantile returns the q quantile (0 < q <= 1) of the recent latencies,
// and false when fewer than minLatencySamples are known.
func (l *latency) quantile(q float64) (time.Duration, bool) {
	var counts [latBuckets]uint32
	total := uint64(0)
	for i := range counts {
		counts[i] = l.gen[0][i].Load() + l.gen[1][i].Load()
		total += uint64(counts[i])
	}
	if total < minLatencySamples {
		return 0, false
	}
	want := uint64(q*float64(total) + 0.5)
	want = max(want, 1)
	seen := uint64(0)
	for i, c := range counts {
		if seen += uint64(c); seen >= want {
			return latUpper(i), true
		}
	}
	return latUpper(latBuckets - 1), true
}

// circuitState counts a method's attempts and failures over a sliding
// window of two halves.
type circuitState struct {
	mu    sync.Mutex
	start int64 // when the current half began
	cur   int
	calls [2]int
	fails [2]int
}

func (c *circuitState) rotate(n int64, window time.Duration) {
	half := int64(window / 2)
	switch {
	case n-c.start >= 2*half:
		c.calls, c.fails, c.start = [2]int{}, [2]int{}, n
	case n-c.start >= half:
		c.cur = 1 - c.cur
		c.calls[c.cur], c.fails[c.cur] = 0, 0
		c.start = n
	}
}

func (c *circuitState) record(failed bool, now time.Time, cfg *Circuit) {
	c.mu.Lock()
	c.rotate(now.UnixNano(), cfg.Window)
	c.calls[c.cur]++
	if failed {
		c.fails[c.cur]++
	}
	c.mu.Unlock()
}

// open reports whether retries are stopped.
func (c *circuitState) open(now time.Time, cfg *Circuit) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotate(now.UnixNano(), cfg.Window)
	calls, fails := c.calls[0]+c.calls[1], c.fails[0]+c.fails[1]
	return calls >= cfg.MinSamples && float64(fails) > cfg.ErrorRate*float64(calls)
}
