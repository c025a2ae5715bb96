package breaker

import (
	"sync/atomic"
)

// A window counts successes and failures over a sliding span of time cut
// into buckets. Each bucket is one 64-bit word updated by compare-and-swap:
// a tag (the bucket's epoch, its start in bucket periods, modulo 2^20-1,
// plus one, so that 0 is an empty bucket), its successes and its failures
// (22 bits each, saturating). A bucket whose
// epoch is behind is restarted by the first writer of the new epoch, so
// the window needs no lock and no clean-up goroutine.
//
// Reading the clock costs more than the rest of a breaker's fast path on
// some machines, so successes take the epoch from a cache that every
// eighth call, and every failure, refreshes. A success may therefore land
// in a bucket that is up to seven calls stale; at rates where that spans
// a whole bucket the window holds fewer samples than MinSamples anyway.
type window struct {
	period int64 // bucket length in nanoseconds
	slots  []atomic.Uint64
	cached atomic.Uint64 // the newest epoch a caller has seen
	ticks  atomic.Uint32 // calls since the clock was last read
	now    func() int64  // the suite's clock, in nanoseconds
}

const (
	countBits = 22
	countMax  = 1<<countBits - 1
	epochBits = 64 - 2*countBits
	epochMod  = 1<<epochBits - 1 // tags are epoch%epochMod + 1
	// aheadMax is how far, in buckets, a bucket's epoch may be ahead of a
	// writer's for the writer to count as stale (and drop its count)
	// rather than as the first writer of a new epoch.
	aheadMax  = 1 << 16
	failShift = 0
	succShift = countBits
	epochSh   = 2 * countBits
)

func newWindow(cfg Config, now func() int64) *window {
	w := &window{period: int64(cfg.Window) / int64(cfg.Buckets), slots: make([]atomic.Uint64, cfg.Buckets), now: now}
	w.cached.Store(w.epochAt(now()))
	return w
}

func (w *window) epochAt(ns int64) uint64 {
	if ns < 0 {
		ns = 0
	}
	return uint64(ns / w.period)
}

// current reads the clock and returns the current epoch.
func (w *window) current() uint64 {
	e := w.epochAt(w.now())
	for {
		old := w.cached.Load()
		if old >= e || w.cached.CompareAndSwap(old, e) {
			return e
		}
	}
}

// fastEpoch returns the cached epoch, reading the clock every eighth call.
func (w *window) fastEpoch() uint64 {
	if w.ticks.Add(1)&7 == 0 {
		return w.current()
	}
	return w.cached.Load()
}

// success counts a success.
func (w *window) success() { w.add(w.fastEpoch(), succShift) }

// failure counts a failure.
func (w *window) failure() { w.add(w.current(), failShift) }

func (w *window) add(epoch uint64, shift uint) {
	slot := &w.slots[epoch%uint64(len(w.slots))]
	e := epoch % epochMod
	for {
		old := slot.Load()
		tag := old >> epochSh
		var nv uint64
		switch {
		case tag == e+1:
			if (old>>shift)&countMax == countMax {
				return // saturated
			}
			nv = old + 1<<shift
		case tag != 0 && (tag-1+epochMod-e)%epochMod < aheadMax:
			return // the slot already holds a newer epoch: a stale writer
		default:
			nv = (e+1)<<epochSh | 1<<shift
		}
		if slot.CompareAndSwap(old, nv) {
			return
		}
	}
}

// sums returns the successes and failures of the buckets within the
// window ending at epoch.
func (w *window) sums(epoch uint64) (succ, fail uint64) {
	n := uint64(len(w.slots))
	e := epoch % epochMod
	for i := range w.slots {
		v := w.slots[i].Load()
		tag := v >> epochSh
		if tag == 0 {
			continue
		}
		if age := (e + epochMod - (tag - 1)) % epochMod; age < n {
			succ += (v >> succShift) & countMax
			fail += (v >> failShift) & countMax
		}
	}
	return succ, fail
}

// reset empties the window.
func (w *window) reset() {
	for i := range w.slots {
		w.slots[i].Store(0)
	}
}
