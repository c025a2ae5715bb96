//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64) && race

package engine

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
)

// Built with the race detector, Netpoll finds a descriptor's operator by
// its number instead of by the pointer in the epoll event. An event still
// queued for a descriptor that just closed then reaches whatever reuses
// its number, and the kernel hands out the lowest free number, so the
// reuse is immediate: a stale hang-up stopped a server's accept loop (its
// pipe took the number; the port refused from then on) and closed fresh
// connections. Race builds therefore move the descriptors the engine
// creates itself (the accept pipe and accepted connections) to high
// numbers taken in rotation, which no recently closed descriptor holds.
// Dialed connections, whose descriptors Netpoll makes itself, keep their
// numbers, but closing one keeps its number taken for a while
// (quarantineFD), so no new descriptor takes it while a stale event may
// still be on its way (when the limit on open files leaves room: see
// highEnabled and heldMax; otherwise it closes at once). A dial that such
// an event fails anyway is tried again (dialAttempts).

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
	heldMax  int // how many numbers quarantineFD holds at most
	highNext atomic.Uint32
)

// highRelocation is true: relocateFD moves descriptors.
const highRelocation = true

// relocateFD moves fd to a high descriptor number, the next in rotation,
// and returns the new number (fd is closed). When the limit on open files
// is below 8192, or the move fails, fd is returned as it is.
func relocateFD(fd int) int {
	if !highEnabled() {
		return fd
	}
	from := highBase + int(highNext.Load())%highSpan
	nfd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, uintptr(from))
	if errno != 0 {
		return fd
	}
	_ = syscall.Close(fd)
	// The rotation goes on after the number taken (which skips those
	// still open), not after the one asked for.
	highNext.Store(uint32(int(nfd) - highBase + 1))
	return int(nfd)
}

// highEnabled reports whether descriptors are moved (the limit on open
// files leaves room for the rotation); quarantineFD holds numbers only
// then.
func highEnabled() bool {
	highOnce.Do(func() {
		var rl syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil || rl.Cur < 1<<13 {
			return // no room above what a test process uses
		}
		// Go raises the soft limit to the hard one at start-up. With the
		// limit counted up to 65536, the rotation runs over three eighths
		// of it from its half up, leaving the top eighth free;
		// quarantineFD holds at most an eighth of it (at most 4096).
		lim := int(min(rl.Cur, 1<<16))
		highBase, highSpan, heldMax = lim/2, lim*3/8, min(lim/8, 4096)
	})
	return highBase != 0
}

// quarantineFor is how long quarantineFD keeps a closed connection's
// number taken: far longer than Netpoll takes to handle the events of one
// wait, even on a loaded machine under the race detector.
const quarantineFor = 250 * time.Millisecond

var quarantine struct {
	sync.Mutex
	opened bool // null was opened (or failed to)
	null   int  // /dev/null, put in place of each held descriptor; -1: none
	held   []heldFD
	timer  *time.Timer
}

// heldFD is one number quarantineFD holds, and when it is let go.
type heldFD struct {
	fd    int
	until time.Time
}

// quarantineFD closes fd (the connection behind it ends: the peer reads
// EOF) but keeps its number taken by /dev/null for quarantineFor, so that
// an event Netpoll read for the connection just before it closed cannot
// reach a new connection that took the number.
func quarantineFD(fd int) {
	q := &quarantine
	q.Lock()
	defer q.Unlock()
	if !q.opened {
		q.opened, q.null = true, -1
		if nfd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err == nil {
			q.null = nfd
		}
	}
	if q.null < 0 || len(q.held) >= heldMax || dupOnto(q.null, fd) != nil {
		_ = syscall.Close(fd)
		return
	}
	q.held = append(q.held, heldFD{fd: fd, until: time.Now().Add(quarantineFor)})
	if q.timer == nil {
		q.timer = time.AfterFunc(quarantineFor, releaseQuarantine)
	}
}

// releaseQuarantine closes the held numbers whose time is up, and waits
// for the next.
func releaseQuarantine() {
	q := &quarantine
	q.Lock()
	defer q.Unlock()
	now := time.Now()
	n := 0
	for n < len(q.held) && !q.held[n].until.After(now) {
		_ = syscall.Close(q.held[n].fd)
		n++
	}
	q.held = append(q.held[:0], q.held[n:]...)
	if len(q.held) == 0 {
		q.timer = nil
		return
	}
	q.timer.Reset(q.held[0].until.Sub(now))
}

// newDialedConn wraps a connection Dial made; its Close quarantines the
// descriptor's number (see quarantineFD).
func newDialedConn(c netpoll.Connection) Conn {
	if _, ok := c.(detacher); !ok || !highEnabled() {
		nc := &npConn{Connection: c}
		nc.guardWrites()
		return nc
	}
	nc := &npDialedConn{npConn: npConn{Connection: c}}
	nc.guardWrites()
	return nc
}

// detacher is what Netpoll's connections have beyond netpoll.Connection:
// Detach closes one as Close does, but leaves its descriptor, Fd, open.
type detacher interface {
	Detach() error
	Fd() int
}

// npDialedConn is a dialed connection whose descriptor quarantineFD
// closes.
type npDialedConn struct {
	npConn
	closed atomic.Bool
}

// Close closes the connection as Netpoll's Close does, except that the
// descriptor's number stays taken for a while (quarantineFD).
func (c *npDialedConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		// Closed already, or closing on another goroutine: calling into
		// Netpoll now could close the descriptor before that Close's
		// Detach marks it as left open, and the quarantine would then
		// take over a number a new descriptor may hold.
		return nil
	}
	d := c.Connection.(detacher)
	fd := d.Fd()
	err := d.Detach() // detached from the poller; fd left open
	quarantineFD(fd)
	return err
}
