//go:build linux && (amd64 || arm64 || loong64)

package engine

import (
	"github.com/skiffrpc/skiff/core/conn"
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
		wakerDisarmLocked()
	}
	waker.decided = false // the timerfd, once made, stays
	waker.off.Store(false)
	waker.active.Store(false)
	waker.short.Store(false)
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
		touched := time.Now()
		time.Sleep(200 * time.Microsecond)
		// A check period without I/O may disarm it: only when this
		// goroutine was held up that long (a loaded machine) is it right.
		if !waker.armed.Load() && time.Since(touched) < wakerCheckEvery {
			t.Fatal("the waker was disarmed while I/O went on")
		}
	}
	if got := waker.reads.Load() - before; got < 3 {
		t.Fatalf("Netpoll read the timer %d times in 20 ms of a %v period; want at least 3", got, wakerSlow)
	}
	if waker.fast.Load() {
		t.Fatal("the waker runs fast with no short wait announced")
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

func TestWakerFastWhileShortWaits(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	wakerReset(t)
	defer wakerReset(t)

	var c npConn // ShortWait needs no connection behind it
	var sw conn.ShortWaiter = &c
	sw.ShortWait()
	if !waker.armed.Load() || !waker.fast.Load() {
		t.Fatalf("after a short wait: armed %v, fast %v; want both", waker.armed.Load(), waker.fast.Load())
	}
	// Short waits keep it fast: the fast period's expirations come in.
	before := waker.reads.Load()
	end := time.Now().Add(20 * time.Millisecond)
	for time.Now().Before(end) {
		sw.ShortWait()
		waited := time.Now()
		time.Sleep(100 * time.Microsecond)
		if !waker.fast.Load() && time.Since(waited) < wakerCheckEvery {
			t.Fatal("the waker slowed down while short waits went on")
		}
	}
	// The fast period's expirations: well over the slow period's 20.
	if got := waker.reads.Load() - before; got < 30 {
		t.Fatalf("Netpoll read the timer %d times in 20 ms of a %v period; want at least 30", got, wakerFast)
	}
	// I/O without short waits: back to the slow period, still armed.
	deadline := time.Now().Add(time.Second)
	for waker.fast.Load() {
		wakerTouch()
		if time.Now().After(deadline) {
			t.Fatal("the waker stayed fast 1 s after the last short wait")
		}
		time.Sleep(100 * time.Microsecond)
	}
	wakerTouch()
	if !waker.armed.Load() || waker.fast.Load() {
		t.Fatalf("I/O after short waits ended: armed %v, fast %v; want armed at the slow period", waker.armed.Load(), waker.fast.Load())
	}
	// Quiet: disarmed.
	for waker.armed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the waker stayed armed 1 s after the last I/O")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWakerOffWithSeveralPs(t *testing.T) {
	prev := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(prev)
	wakerReset(t)
	defer wakerReset(t)
	wakerTouch()
	wakerShortWait()
	if waker.armed.Load() || !waker.off.Load() {
		t.Fatalf("with two Ps: armed %v, off %v; want off", waker.armed.Load(), waker.off.Load())
	}
}
