package limiter

import (
	"math"
	"runtime/metrics"
	"sync"
	"sync/atomic"

	"github.com/skiffrpc/skiff/core/status"
)

// The adaptive limiter's constants. None is a capacity: they say how fast
// it reacts and how much queueing it tolerates relative to the service's
// own measured latency.
const (
	// adaptivePeriod is how often the limit is recomputed.
	adaptivePeriod = 50_000_000 // 50 ms
	// minRTSpan is how long the no-load latency estimate remembers a low
	// sample: the minimum is taken over the current and the previous span.
	minRTSpan = 5_000_000_000 // 5 s
	// tolerance is how far the latency may rise above the no-load latency
	// before the limit shrinks.
	tolerance = 2.0
	// smoothing weighs a new limit against the old one.
	smoothing = 0.2
	// initialLimit, minLimit, maxLimit bound the concurrency limit.
	initialLimit = 20
	minLimit     = 1
	maxLimit     = 10000
)

// adaptive is a concurrency limit that follows measured latency, in the
// way of Netflix's gradient limit: every period it compares the latency of
// the calls that finished (handler time plus the time goroutines waited to
// run, from the Go scheduler's metrics) with the no-load latency, and
// moves the limit to
//
//	limit × min(1, max(0.5, tolerance × noLoad / latency)) + √limit
//
// smoothed; the square root is the queue it allows, which is also how the
// limit grows while latency stays low. It does not grow while the calls
// in flight stay under half of it (the load, not the limit, decides).
type adaptive struct {
	err *status.Error

	period   atomic.Int64 // index of the current period
	rtSum    atomic.Int64 // handler latency of calls finished this period, ns
	rtN      atomic.Int64 // calls finished this period
	inflight atomic.Int64
	peak     atomic.Int64 // most calls in flight this period
	limit    atomic.Int64 // the current limit, whole calls

	mu sync.Mutex // held by the goroutine that closes a period
	// The controller's state, guarded by mu.
	sample    []metrics.Sample
	prevHist  []uint64
	haveHist  bool
	minCur    int64
	minPrev   int64
	spanStart int64
	est       float64 // the limit, unrounded
}

const schedLatencies = "/sched/latencies:seconds"

func newAdaptive() *adaptive {
	a := &adaptive{
		err:    status.Wrap(status.ErrOverload, "limiter: adaptive limit: the server is overloaded", nil),
		sample: []metrics.Sample{{Name: schedLatencies}},
		est:    initialLimit,
	}
	a.limit.Store(initialLimit)
	a.minCur, a.minPrev = math.MaxInt64, math.MaxInt64
	return a
}

// admit counts a call arriving at now in flight and reports whether it
// fits; a call that does not fit is not counted.
func (a *adaptive) admit(now int64) bool {
	if p := now / adaptivePeriod; p != a.period.Load() {
		a.roll(p, now)
	}
	n := a.inflight.Add(1)
	if n > a.limit.Load() {
		a.inflight.Add(-1)
		return false
	}
	if n > a.peak.Load() {
		a.peak.Store(n) // a racy maximum is close enough
	}
	return true
}

// release ends an admitted call that is not sampled (a stream).
func (a *adaptive) release() { a.inflight.Add(-1) }

// done ends an admitted call and records its handler latency.
func (a *adaptive) done(start, end int64) {
	a.inflight.Add(-1)
	a.rtSum.Add(end - start)
	a.rtN.Add(1)
}

// current returns the limit now.
func (a *adaptive) current() int64 { return a.limit.Load() }

// roll closes the period before p: one goroutine measures and moves the
// limit; the others go on with the current one.
func (a *adaptive) roll(p, now int64) {
	if !a.mu.TryLock() {
		return
	}
	defer a.mu.Unlock()
	if a.period.Load() == p {
		return
	}
	a.period.Store(p)
	n := a.rtN.Swap(0)
	sum := a.rtSum.Swap(0)
	peak := a.peak.Swap(a.inflight.Load())
	wait := a.schedWait()
	if now-a.spanStart > minRTSpan {
		a.minPrev, a.minCur, a.spanStart = a.minCur, math.MaxInt64, now
	}
	if n == 0 {
		return // nothing finished: nothing to learn
	}
	rt := float64(sum/n) + wait
	a.minCur = min(a.minCur, int64(rt))
	noLoad := float64(min(a.minCur, a.minPrev))
	gradient := min(1, max(0.5, tolerance*noLoad/rt))
	next := a.est*gradient + math.Sqrt(a.est)
	if next > a.est && float64(peak) < a.est/2 {
		next = a.est // not using the limit: no reason to raise it
	}
	a.est = min(max((1-smoothing)*a.est+smoothing*next, minLimit), maxLimit)
	a.limit.Store(int64(math.Ceil(a.est)))
}

// schedWait returns the mean time goroutines waited to run since the last
// call, in ns, from the scheduler latency histogram (0 the first time).
func (a *adaptive) schedWait() float64 {
	metrics.Read(a.sample)
	if a.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0
	}
	h := a.sample[0].Value.Float64Histogram()
	if len(a.prevHist) != len(h.Counts) {
		a.prevHist = make([]uint64, len(h.Counts))
		a.haveHist = false
	}
	var total uint64
	var sum float64
	for i, c := range h.Counts {
		d := c - a.prevHist[i]
		a.prevHist[i] = c
		if d == 0 || !a.haveHist {
			continue
		}
		lo, hi := h.Buckets[i], h.Buckets[i+1]
		var mid float64
		switch {
		case math.IsInf(lo, -1):
			mid = hi
		case math.IsInf(hi, 1):
			mid = lo
		default:
			mid = (lo + hi) / 2
		}
		total += d
		sum += float64(d) * mid
	}
	first := !a.haveHist
	a.haveHist = true
	if first || total == 0 {
		return 0
	}
	return sum / float64(total) * 1e9
}
