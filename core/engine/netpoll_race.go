//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64) && race

package engine

import (
	"sync"
	"sync/atomic"
	"syscall"
)

// Built with the race detector, Netpoll finds a descriptor's operator by
// its number instead of by the pointer in the epoll event. An event still
// queued for a descriptor that just closed then reaches whatever reuses
// its number, and the kernel hands out the lowest free number, so the
// reuse is immediate: a stale hang-up stopped a server's accept loop (its
// pipe took the number; the port refused from then on) and closed fresh
// connections. Race builds therefore move the descriptors the engine
// creates itself (the accept pipe and accepted connections) to high
// numbers taken in rotation, which no recently closed descriptor holds;
// dials, which Netpoll makes itself, are tried again instead
// (dialAttempts).

// dialAttempts is how many times npEngine.Dial tries a connection attempt
// that Netpoll reports as reset: a stale event can fail a dial that reuses
// a just-closed descriptor's number as "closed by peer" although the
// listener is up. Tests saw up to four such failures in a row on a loaded
// machine.
const dialAttempts = 6

var (
	highOnce sync.Once
	highBase int // the first number of the rotation; 0: not used
	highSpan int // how many numbers it rotates over
	highNext atomic.Uint32
)

// highRelocation is true: relocateFD moves descriptors.
const highRelocation = true

// relocateFD moves fd to a high descriptor number, the next in rotation,
// and returns the new number (fd is closed). When the limit on open files
// is too low, or the move fails, fd is returned as it is.
func relocateFD(fd int) int {
	highOnce.Do(func() {
		var rl syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil || rl.Cur < 1<<15 {
			return // no room above what a test process uses
		}
		highBase, highSpan = 1<<14, 1<<13
	})
	if highBase == 0 {
		return fd
	}
	from := highBase + int(highNext.Add(1))%highSpan
	nfd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, uintptr(from))
	if errno != 0 {
		return fd
	}
	_ = syscall.Close(fd)
	return int(nfd)
}
