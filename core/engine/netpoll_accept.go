//go:build !windows

package engine

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// goAcceptListener lets the Netpoll engine stop accepting at once, while
// Netpoll goes on serving the open connections. Netpoll polls a listener's
// descriptor itself, and closing or shutting down that descriptor before
// Netpoll's Shutdown detached it races with its poller (a stale event of
// the closed descriptor reached another server's listener). So the real
// listener is accepted from by Go's own poller, on a goroutine, and Netpoll
// polls the read end of a pipe instead: each accepted connection's
// descriptor is duplicated (Netpoll owns the copy), queued, and announced
// with one byte on the pipe, which Netpoll's Accept consumes. StopAccepting
// closes the real listener (new connections are refused at once) and
// leaves the pipe to Netpoll, which detaches and closes it in Shutdown.
type goAcceptListener struct {
	ln         net.Listener
	addr       net.Addr
	rfd, wfd   int // the pipe: Netpoll polls rfd
	mu         sync.Mutex
	queue      []*acceptedConn
	closed     bool // Close was called: the pipe is (being) closed
	lnClosed   bool // the real listener was closed
	acceptDone chan struct{}
}

// newGoAcceptListener starts accepting from ln, a *net.TCPListener or a
// *net.UnixListener.
func newGoAcceptListener(ln net.Listener) (*goAcceptListener, error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err := syscall.Pipe(p[:])
	if err == nil {
		syscall.CloseOnExec(p[0])
		syscall.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, err
	}
	for _, fd := range p {
		if err := syscall.SetNonblock(fd, true); err != nil {
			_ = syscall.Close(p[0])
			_ = syscall.Close(p[1])
			return nil, err
		}
	}
	l := &goAcceptListener{ln: ln, addr: ln.Addr(), rfd: p[0], wfd: p[1], acceptDone: make(chan struct{})}
	go l.acceptLoop()
	return l, nil
}

// acceptLoop accepts connections from the real listener until it closes.
func (l *goAcceptListener) acceptLoop() {
	defer close(l.acceptDone)
	backoff := time.Duration(0)
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: wait a little, as
			// net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		ac, err := adopt(c)
		_ = c.Close() // the copy lives on
		if err != nil {
			continue // the connection is dropped: its peer sees it closed
		}
		if !l.enqueue(ac) {
			_ = syscall.Close(ac.fd)
			return
		}
	}
}

// enqueue queues c and announces it on the pipe; false once Close was
// called.
func (l *goAcceptListener) enqueue(c *acceptedConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.queue = append(l.queue, c)
	for {
		_, err := syscall.Write(l.wfd, []byte{1})
		if err == nil {
			return true
		}
		if err != syscall.EAGAIN && err != syscall.EINTR {
			// The pipe is broken: Netpoll will not hear of this
			// connection; it waits in the queue for the next one.
			return true
		}
		// 64 KiB of connections not yet taken: wait for Netpoll.
		l.mu.Unlock()
		time.Sleep(time.Millisecond)
		l.mu.Lock()
		if l.closed {
			return false
		}
	}
}

// Accept implements net.Listener for Netpoll: it takes one announced
// connection, or returns nil, nil (Netpoll's "nothing to accept") when
// there is none.
func (l *goAcceptListener) Accept() (net.Conn, error) {
	var b [1]byte
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, net.ErrClosed // Netpoll stops serving on "closed"
	}
	if _, err := syscall.Read(l.rfd, b[:]); err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
		return nil, err
	}
	if len(l.queue) == 0 {
		return nil, nil
	}
	c := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	return c, nil
}

// Fd is the descriptor Netpoll polls: the pipe's read end.
func (l *goAcceptListener) Fd() int { return l.rfd }

// Addr is the real listener's address.
func (l *goAcceptListener) Addr() net.Addr { return l.addr }

// stopAccepting closes the real listener: new connections are refused.
func (l *goAcceptListener) stopAccepting() {
	l.mu.Lock()
	closed := l.lnClosed
	l.lnClosed = true
	l.mu.Unlock()
	if !closed {
		_ = l.ln.Close()
	}
}

// Close closes the real listener, then the pipe and the connections not
// taken yet. Netpoll calls it in Shutdown, after it detached the pipe
// from its poller.
func (l *goAcceptListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true // Accept and enqueue stop
	l.mu.Unlock()
	l.stopAccepting()
	<-l.acceptDone
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.queue {
		_ = syscall.Close(c.fd)
	}
	l.queue = nil
	_ = syscall.Close(l.rfd)
	_ = syscall.Close(l.wfd)
	return nil
}

// acceptedConn is an accepted connection's duplicated descriptor, which
// Netpoll takes over (it reads only Fd, LocalAddr and RemoteAddr, and
// closes the descriptor itself).
type acceptedConn struct {
	fd            int
	local, remote net.Addr
}

// adopt duplicates c's descriptor (close-on-exec).
func adopt(c net.Conn) (*acceptedConn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, errors.New("engine: accepted connection has no descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		syscall.ForkLock.RLock()
		fd, derr = syscall.Dup(int(s))
		if derr == nil {
			syscall.CloseOnExec(fd)
		}
		syscall.ForkLock.RUnlock()
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return &acceptedConn{fd: fd, local: c.LocalAddr(), remote: c.RemoteAddr()}, nil
}

var errAdopted = errors.New("engine: the connection belongs to Netpoll")

func (c *acceptedConn) Fd() int                          { return c.fd }
func (c *acceptedConn) LocalAddr() net.Addr              { return c.local }
func (c *acceptedConn) RemoteAddr() net.Addr             { return c.remote }
func (c *acceptedConn) Read([]byte) (int, error)         { return 0, errAdopted }
func (c *acceptedConn) Write([]byte) (int, error)        { return 0, errAdopted }
func (c *acceptedConn) Close() error                     { return errAdopted }
func (c *acceptedConn) SetDeadline(time.Time) error      { return errAdopted }
func (c *acceptedConn) SetReadDeadline(time.Time) error  { return errAdopted }
func (c *acceptedConn) SetWriteDeadline(time.Time) error { return errAdopted }
