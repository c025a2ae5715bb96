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
	// adaptivePeriod is how often the limit and the drop fraction are
	// recomputed.
	adaptivePeriod = 20_000_000 // 20 ms
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
	// waitFloor is the least scheduler wait the shedder tolerates, so that
	// fast handlers are not shed for the scheduler's own jitter.
	waitFloor = 500_000 // 0.5 ms
	// maxDrop bounds the drop fraction: some calls always pass, and keep
	// the latency measured.
	maxDrop = 0.95
	// minWaitSamples is the fewest scheduler latency samples a period
	// needs for its mean wait to count.
	minWaitSamples = 4
	// fracOne is 100 % in the fixed-point admit fraction.
	fracOne = 1 << 16
)

// adaptive has two parts, both driven by measured delay.
//
// A concurrency limit that follows latency, in the way of Netflix's
// gradient limit: every period it compares the mean handler latency of the
// calls that finished with the no-load latency (the lowest period mean of
// the last 5 to 10 s) and moves the limit to
//
//	limit × min(1, max(0.5, tolerance × noLoad / latency)) + √limit
//
// smoothed; the square root is the queue it allows, which is also how the
// limit grows while latency stays low. It does not grow while the calls
// in flight stay under half of it (the load, not the limit, decides). This
// catches calls queueing inside handlers (a downstream, a lock, a pool).
//
// A shedder for the queue no middleware sees: with CPU-bound handlers,
// requests wait as runnable goroutines before they are even decoded (Go
// does not preempt a handler for 10 ms), so the calls in flight stay at
// about one per CPU however long the queue. The mean time goroutines wait
// to run (runtime/metrics' scheduler latencies) measures that queue; a
// proportional-integral controller (as in PIE, RFC 8033) moves a drop
// fraction so that it stays near twice the no-load latency (tolerance; at
// least 0.5 ms), and calls are admitted evenly at the complementary
// fraction.
type adaptive struct {
	err *status.Error

	period   atomic.Int64 // index of the current period
	rtSum    atomic.Int64 // handler latency of calls finished this period, ns
	rtN      atomic.Int64 // calls finished this period
	inflight atomic.Int64
	peak     atomic.Int64  // most calls in flight this period
	limit    atomic.Int64  // the current limit, whole calls
	frac     atomic.Uint32 // fraction of calls the shedder admits, of fracOne
	calls    atomic.Uint64 // shedder's admission counter, for even spacing

	mu sync.Mutex // held by the goroutine that closes a period
	// The controller's state, guarded by mu.
	sample    []metrics.Sample
	prevHist  []uint64
	haveHist  bool
	minCur    int64
	minPrev   int64
	spanStart int64
	est       float64 // the limit, unrounded
	drop      float64 // the shedder's drop fraction
	prevWait  float64
}

const schedLatencies = "/sched/latencies:seconds"

func newAdaptive() *adaptive {
	a := &adaptive{
		err:    status.Wrap(status.ErrOverload, "limiter: adaptive limit: the server is overloaded", nil),
		sample: []metrics.Sample{{Name: schedLatencies}},
		est:    initialLimit,
	}
	a.limit.Store(initialLimit)
	a.frac.Store(fracOne)
	a.minCur, a.minPrev = math.MaxInt64, math.MaxInt64
	return a
}

// admit counts a call arriving at now in flight and reports whether it
// fits; a call that does not fit is not counted.
func (a *adaptive) admit(now int64) bool {
	if p := now / adaptivePeriod; p != a.period.Load() {
		a.roll(p, now)
	}
	if f := uint64(a.frac.Load()); f < fracOne {
		// Shedding: the n-th call passes when the running total of the
		// admit fraction crosses a whole number.
		c := a.calls.Add(1)
		if (c*f)>>16 == ((c-1)*f)>>16 {
			return false
		}
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

// dropFraction returns the fraction of calls the shedder drops now.
func (a *adaptive) dropFraction() float64 { return 1 - float64(a.frac.Load())/fracOne }

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
	if n > 0 {
		a.minCur = min(a.minCur, sum/n)
	}
	if a.minCur == math.MaxInt64 && a.minPrev == math.MaxInt64 {
		return // no call has finished yet: nothing to compare with
	}
	noLoad := float64(min(a.minCur, a.minPrev))
	a.shed(wait, max(tolerance*noLoad, waitFloor))
	if n == 0 {
		return
	}
	rt := float64(sum / n)
	gradient := min(1, max(0.5, tolerance*noLoad/rt))
	next := a.est*gradient + math.Sqrt(a.est)
	if next > a.est && float64(peak) < a.est/2 {
		next = a.est // not using the limit: no reason to raise it
	}
	a.est = min(max((1-smoothing)*a.est+smoothing*next, minLimit), maxLimit)
	a.limit.Store(int64(math.Ceil(a.est)))
}

// shed moves the drop fraction so that the scheduler wait stays near
// target. A wait < 0 means the period had too few samples to tell: the
// fraction is left as it is.
func (a *adaptive) shed(wait, target float64) {
	if wait < 0 {
		return
	}
	e := min(max((wait-target)/target, -1), 4)
	de := min(max((wait-a.prevWait)/target, -4), 4)
	a.prevWait = wait
	step := 0.03*e + 0.03*de
	if a.drop < 0.1 {
		step /= 4 // gentle while shedding little, as PIE does
	}
	d := a.drop + step
	if wait < target/2 {
		d *= 0.97 // no queue to speak of: let go
	}
	if d < 0.005 {
		d = 0
	}
	a.drop = min(max(d, 0), maxDrop)
	a.frac.Store(uint32(math.Round((1 - a.drop) * fracOne)))
}

// schedWait returns the mean time goroutines waited to run since the last
// call, in ns, from the scheduler latency histogram, or -1 when it has too
// few samples to tell yet (the runtime samples one scheduling in eight);
// samples then add up until there are enough.
func (a *adaptive) schedWait() float64 {
	metrics.Read(a.sample)
	if a.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return -1 // not in this runtime
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
		if d == 0 {
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
	if !a.haveHist || total >= minWaitSamples {
		// Start the next measure here; with too few samples, let them
		// add up over the next periods instead.
		copy(a.prevHist, h.Counts)
	}
	first := !a.haveHist
	a.haveHist = true
	if first || total < minWaitSamples {
		return -1
	}
	return sum / float64(total) * 1e9
}
