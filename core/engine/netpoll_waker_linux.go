//go:build amd64 || arm64 || loong64

package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/cloudwego/netpoll"
)

// Netpoll's poller and a lone P.
//
// Netpoll's poller goroutine waits for events in epoll_wait, in a system
// call that keeps its P. With one P (GOMAXPROCS=1, as in a process pinned
// to one CPU), goroutines made runnable meanwhile by anything but a
// Netpoll event (a Go timer: a write hold, a reply batch's budget, a
// deadline; a goroutine that yielded) wait until the runtime's monitor
// takes the P back, which was measured to take 10 to 20 ms. In the pinned
// c=100 benchmark that stalled the default TTHeader client and server
// (both sides idle a third of the time, p99 16 ms against a p50 of
// 1.3 ms).
//
// The waker bounds those stalls: while the process does I/O on Netpoll
// connections, a timerfd in Netpoll's epoll set expires periodically, so
// epoll_wait returns at least that often. It runs at two speeds. While
// transports and runtimes wait briefly on purpose (conn.ShortWaiter: a
// write hold, a reply batch's budget, a yield before a write), it expires
// every wakerFast, since each such wait is a timer or a yield the poller
// could hold up. Otherwise it expires every wakerSlow, which bounds the
// stalls nothing announces (the scheduler's fairness turn handing the P to
// the poller while goroutines are runnable, the garbage collector). Once no
// I/O happened for a wakerCheckEvery period the timer is disarmed, and the
// next I/O arms it again. With more than one P there is no stall to bound,
// and the waker stays off: the choice is made when a Netpoll connection
// first does I/O, and the waker turns itself off for good if GOMAXPROCS
// grows later. It covers the poller it is registered with: the only one,
// unless Netpoll was configured with more loops.
//
// I/O is noted when a connection's Reader or Writer is taken (per call on
// framed connections, per write batch on HTTP/2) and when a server
// connection's OnRequest starts. Loops that keep a connection's reader
// (HTTP/2 and multiplexed readers, streams) do not note each read: a
// connection that only receives can let the waker disarm, but its data
// wakes epoll_wait anyway.

// The periods. Every expiration costs more than its system calls: on a
// virtual machine, where programming a timer exits to the hypervisor,
// pinned pooled TTHeader at c=100 (which announces no short waits) lost
// 8 % of its QPS to a fixed 200 µs period and about 7 % to 1 ms; at 2 ms
// it ran as fast as without a waker (within noise). At c=10 a 200 µs period cost it a third (the poller woke
// between a call's events and batched fewer of them). With 2 ms its p999
// at c=10 is 1.2 to 1.8 ms, against 4 to 11 ms without a waker and 1.7 ms
// on the std engine. The multiplexed default TTHeader client, whose holds
// and batches wait on timers, ran at 180k QPS pinned at c=100 with a fixed
// 500 µs period, 206k with 200 µs and 220k with 100 µs; with the two
// speeds, about 245k. A watchdog that pushed a one-shot timer back on
// every I/O instead of expiring periodically was tried: its 2,000 re-arms
// a second cost as much as the expirations.
const (
	wakerFast = 200 * time.Microsecond
	wakerSlow = 2 * time.Millisecond
)

// wakerCheckEvery is how often an armed waker looks at what happened: it
// disarms after a period without I/O and slows down after one without
// short waits. It is longer than wakerSlow: on one P, goroutines paced by
// the slow expirations themselves still touch the waker within each
// check period.
const wakerCheckEvery = 2 * wakerSlow

var waker struct {
	off    atomic.Bool // no waker: more than one P, or it could not be set up
	armed  atomic.Bool // the timerfd is armed
	fast   atomic.Bool // armed at wakerFast
	active atomic.Bool // I/O since the last check
	short  atomic.Bool // a short wait since the last check

	mu      sync.Mutex
	decided bool // GOMAXPROCS was looked at
	fd      int
	conn    netpoll.Connection
	check   *time.Timer
	reads   atomic.Int64 // timerfd reads by Netpoll's poller the check drained (tests)
}

// wakerTouch records I/O on a Netpoll connection, arming the waker if it
// is not.
func wakerTouch() {
	if waker.off.Load() {
		return
	}
	if !waker.active.Load() {
		waker.active.Store(true)
	}
	if !waker.armed.Load() {
		wakerArm(false)
	}
}

// wakerShortWait records a short wait, speeding the waker up if it is not
// fast already.
func wakerShortWait() {
	if waker.off.Load() {
		return
	}
	if !waker.short.Load() {
		waker.short.Store(true)
	}
	if !waker.fast.Load() {
		if !waker.active.Load() {
			waker.active.Store(true)
		}
		wakerArm(true)
	}
}

func wakerArm(fast bool) {
	waker.mu.Lock()
	defer waker.mu.Unlock()
	if waker.off.Load() || waker.armed.Load() && (waker.fast.Load() || !fast) {
		return
	}
	if !waker.decided {
		waker.decided = true
		if runtime.GOMAXPROCS(0) != 1 {
			waker.off.Store(true)
			return
		}
	}
	if waker.conn == nil && !wakerInit() {
		waker.off.Store(true)
		return
	}
	wakerArmLocked(fast)
}

// wakerInit creates the timerfd and registers it with Netpoll.
func wakerInit() bool {
	fd, _, e := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, 1 /* CLOCK_MONOTONIC */, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		return false
	}
	c, err := netpoll.NewFDConnection(int(fd))
	if err != nil {
		return false // Netpoll closed the descriptor when registering failed
	}
	waker.fd, waker.conn = int(fd), c
	return true
}

// wakerSet sets the timerfd to expire every period (0 disarms it).
func wakerSet(period time.Duration) {
	p := syscall.NsecToTimespec(int64(period)) // the platform's layout
	spec := [2]syscall.Timespec{p, p}          // itimerspec: interval, first expiration
	_, _, _ = syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, uintptr(waker.fd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}

func wakerArmLocked(fast bool) {
	if fast {
		wakerSet(wakerFast)
	} else {
		wakerSet(wakerSlow)
	}
	waker.fast.Store(fast)
	if !waker.armed.Load() {
		waker.armed.Store(true)
		if waker.check == nil {
			waker.check = time.AfterFunc(wakerCheckEvery, wakerCheck)
		} else {
			waker.check.Reset(wakerCheckEvery)
		}
	}
}

// wakerDisarmLocked stops the timer.
func wakerDisarmLocked() {
	wakerSet(0)
	waker.armed.Store(false)
	waker.fast.Store(false)
}

// wakerCheck runs every wakerCheckEvery while the waker is armed: it drops
// the expirations Netpoll read from the timerfd, slows the waker down
// after a period without short waits and disarms it after one without
// I/O.
func wakerCheck() {
	waker.mu.Lock()
	defer waker.mu.Unlock()
	if r := waker.conn.Reader(); r.Len() > 0 {
		n := r.Len()
		_ = r.Skip(n)
		_ = r.Release()
		waker.reads.Add(int64(n / 8)) // each read returns one 8-byte expiration count
	}
	if !waker.armed.Load() {
		return
	}
	if !waker.conn.IsActive() || runtime.GOMAXPROCS(0) != 1 {
		// Netpoll closed the timerfd (an error event), or the process
		// now has more than one P: no more waking.
		wakerDisarmLocked()
		waker.off.Store(true)
		return
	}
	short := waker.short.Swap(false)
	if waker.active.Swap(false) || short {
		if fast := waker.fast.Load(); fast != short {
			wakerArmLocked(short)
		}
		waker.check.Reset(wakerCheckEvery)
		return
	}
	wakerDisarmLocked()
	// I/O that saw the waker still armed, just before it was disarmed.
	if waker.active.Load() || waker.short.Load() {
		wakerArmLocked(waker.short.Load())
	}
}
