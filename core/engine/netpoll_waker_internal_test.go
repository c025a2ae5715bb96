//go:build linux

package engine

import (
	"runtime"
	"testing"
	"time"
)

// wakerReset forgets the waker's choice, so that the next touch decides
// again with the current GOMAXPROCS.
func wakerReset(t *testing.T) {
	t.Helper()
	waker.mu.Lock()
	defer waker.mu.Unlock()
	if waker.armed.Load() {
		wakerSet(0)
		waker.armed.Store(false)
	}
	waker.decided = false // the timerfd, once made, stays
	waker.off.Store(false)
	waker.active.Store(false)
}

func TestWakerArmsOnOneP(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	wakerReset(t)
	defer wakerReset(t)

	before := waker.reads.Load()
	wakerTouch()
	if !waker.armed.Load() || waker.off.Load() {
		t.Fatalf("after I/O with one P: armed %v, off %v; want armed", waker.armed.Load(), waker.off.Load())
	}
	// Keep touching for a while: it stays armed, and Netpoll's poller
	// reads the timer's expirations (the check drains and counts them).
	end := time.Now().Add(20 * time.Millisecond)
	for time.Now().Before(end) {
		wakerTouch()
		time.Sleep(200 * time.Microsecond)
		if !waker.armed.Load() {
			t.Fatal("the waker was disarmed while I/O went on")
		}
	}
	if got := waker.reads.Load() - before; got < 10 {
		t.Fatalf("Netpoll read the timer %d times in 20 ms of a %v period; want at least 10", got, wakerPeriod)
	}
	// Quiet: disarmed within a few check periods.
	deadline := time.Now().Add(time.Second)
	for waker.armed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the waker stayed armed 1 s after the last I/O")
		}
		time.Sleep(time.Millisecond)
	}
	// And armed again by the next I/O.
	wakerTouch()
	if !waker.armed.Load() {
		t.Fatal("I/O after a quiet period did not arm the waker again")
	}
}

func TestWakerOffWithSeveralPs(t *testing.T) {
	prev := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(prev)
	wakerReset(t)
	defer wakerReset(t)
	wakerTouch()
	if waker.armed.Load() || !waker.off.Load() {
		t.Fatalf("with two Ps: armed %v, off %v; want off", waker.armed.Load(), waker.off.Load())
	}
}
