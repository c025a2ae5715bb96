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
// connections, a timerfd in Netpoll's epoll set expires every wakerPeriod,
// so epoll_wait returns at least that often. Once no I/O happened for a
// wakerIdle check period the timer is disarmed, and the next I/O arms it
// again. With more than one P there is no stall to bound, and the waker
// stays off: the choice is made when a Netpoll connection first does I/O.
// It covers the poller it is registered with: one, unless Netpoll was
// configured with more loops.

const (
	wakerPeriod = 50 * time.Microsecond
	wakerIdle   = time.Millisecond
)

var waker struct {
	off    atomic.Bool // no waker: more than one P, or it could not be set up
	armed  atomic.Bool // the timerfd is armed
	active atomic.Bool // I/O since the last check

	mu     sync.Mutex
	inited bool
	fd     int
	conn   netpoll.Connection
	check  *time.Timer
	ticks  atomic.Int64 // expirations Netpoll read and the check drained (tests)
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
		wakerArm()
	}
}

func wakerArm() {
	waker.mu.Lock()
	defer waker.mu.Unlock()
	if waker.armed.Load() || waker.off.Load() {
		return
	}
	if !waker.inited {
		waker.inited = true
		if runtime.GOMAXPROCS(0) != 1 || !wakerInit() {
			waker.off.Store(true)
			return
		}
	}
	wakerArmLocked()
}

// wakerInit creates the timerfd and registers it with Netpoll.
func wakerInit() bool {
	fd, _, e := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, 1 /* CLOCK_MONOTONIC */, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		return false
	}
	c, err := netpoll.NewFDConnection(int(fd))
	if err != nil {
		_ = syscall.Close(int(fd))
		return false
	}
	waker.fd, waker.conn = int(fd), c
	return true
}

// wakerSet sets the timerfd to expire every period (0 disarms it).
func wakerSet(period time.Duration) {
	type timespec struct{ sec, nsec int64 }
	p := timespec{int64(period / time.Second), int64(period % time.Second)}
	spec := [2]timespec{p, p} // interval, first expiration
	_, _, _ = syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, uintptr(waker.fd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}

func wakerArmLocked() {
	wakerSet(wakerPeriod)
	waker.armed.Store(true)
	if waker.check == nil {
		waker.check = time.AfterFunc(wakerIdle, wakerCheck)
	} else {
		waker.check.Reset(wakerIdle)
	}
}

// wakerCheck runs every wakerIdle while the waker is armed: it drops the
// expirations Netpoll read from the timerfd and disarms it after a period
// without I/O.
func wakerCheck() {
	waker.mu.Lock()
	defer waker.mu.Unlock()
	if r := waker.conn.Reader(); r.Len() > 0 {
		n := r.Len()
		_ = r.Skip(n)
		_ = r.Release()
		waker.ticks.Add(int64(n / 8))
	}
	if !waker.armed.Load() {
		return
	}
	if waker.active.Swap(false) {
		waker.check.Reset(wakerIdle)
		return
	}
	wakerSet(0)
	waker.armed.Store(false)
	// I/O that saw the waker still armed, just before it was disarmed.
	if waker.active.Load() {
		wakerArmLocked()
	}
}
