package breaker

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWindowSlides(t *testing.T) {
	var now atomic.Int64
	w := newWindow(Config{Window: 10 * time.Second, Buckets: 10}.normalized(), now.Load)
	for range 30 {
		w.failure()
	}
	for range 70 {
		w.add(w.current(), succShift)
	}
	if s, f := w.sums(w.current()); s != 70 || f != 30 {
		t.Fatalf("sums = %d, %d; want 70, 30", s, f)
	}
	now.Store(int64(5 * time.Second))
	for range 10 {
		w.failure()
	}
	if s, f := w.sums(w.current()); s != 70 || f != 40 {
		t.Fatalf("after 5 s: sums = %d, %d; want 70, 40", s, f)
	}
	// 10 s after the start the first bucket has left the window.
	now.Store(int64(10 * time.Second))
	if s, f := w.sums(w.current()); s != 0 || f != 10 {
		t.Fatalf("after 10 s: sums = %d, %d; want 0, 10", s, f)
	}
	now.Store(int64(15 * time.Second))
	if s, f := w.sums(w.current()); s != 0 || f != 0 {
		t.Fatalf("after 15 s: sums = %d, %d; want 0, 0", s, f)
	}
	// A writer holding a stale epoch does not wipe a newer bucket.
	w.failure()
	w.add(w.current()-10, failShift)
	if _, f := w.sums(w.current()); f != 1 {
		t.Fatalf("stale writer: failures = %d, want 1", f)
	}
	w.reset()
	if s, f := w.sums(w.current()); s != 0 || f != 0 {
		t.Fatalf("after reset: sums = %d, %d", s, f)
	}
	// Far in the future (beyond the epoch tag's cycle) counting still works.
	now.Store(int64(time.Second) * (epochMod + 12345))
	w.failure()
	w.add(w.current(), succShift)
	if s, f := w.sums(w.current()); s != 1 || f != 1 {
		t.Fatalf("far future: sums = %d, %d; want 1, 1", s, f)
	}
}

func TestWindowConcurrentCountsExact(t *testing.T) {
	var now atomic.Int64
	w := newWindow(Config{}.normalized(), now.Load)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				if i%5 == 0 {
					w.failure()
				} else {
					w.success()
				}
			}
		}()
	}
	wg.Wait()
	if s, f := w.sums(w.current()); s != 16000 || f != 4000 {
		t.Fatalf("sums = %d, %d; want 16000, 4000", s, f)
	}
}

func TestWindowSaturates(t *testing.T) {
	var now atomic.Int64
	w := newWindow(Config{Buckets: 1}.normalized(), now.Load)
	w.slots[0].Store(1<<epochSh | countMax<<succShift)
	w.add(0, succShift)
	w.add(0, failShift)
	if s, f := w.sums(0); s != countMax || f != 1 {
		t.Fatalf("sums = %d, %d; want %d, 1", s, f, countMax)
	}
}
