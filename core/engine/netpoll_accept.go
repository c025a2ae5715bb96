//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// goAcceptListener lets the Netpoll engine stop accepting at once, while
// Netpoll goes on serving the open connections. Netpoll polls a listener's
// descriptor itself, and closing or shutting down that descriptor before
// Netpoll's Shutdown detached it races with its poller (a stale event of
// the closed descriptor reached another server's listener). So the real
// listener is accepted from on a goroutine that Go's own poller wakes, and
// Netpoll polls the read end of a pipe instead: each accepted connection's
// descriptor (Netpoll owns it) is queued and announced with one byte on
// the pipe, which Netpoll's Accept consumes. StopAccepting closes the
// real listener (new connections are refused at once) and leaves the pipe
// to Netpoll, which detaches and closes it in Shutdown. The hand-over
// costs a second wake-up per new connection (BenchmarkNetpollAcceptEcho:
// a dial, one echo and a close took about 1.5 times as long on a loaded
// 2-core machine); a server that lives on short connections and can do
// without stopping early can serve a listener from netpoll.CreateListener
// (server.WithListener), which Netpoll accepts from directly.
type goAcceptListener struct {
	ln         net.Listener
	lnFile     *os.File // a duplicate of ln's descriptor, which acceptLoop polls
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
	// A listener's RawConn cannot wait for it to be readable: a pollable
	// *os.File of a duplicate of its descriptor can.
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, errors.New("engine: the listener has no descriptor")
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
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	lnFile := os.NewFile(uintptr(fd), "listener") // pollable: non-blocking
	var p [2]int
	syscall.ForkLock.RLock()
	err = syscall.Pipe(p[:])
	if err == nil {
		syscall.CloseOnExec(p[0])
		syscall.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		_ = lnFile.Close()
		return nil, err
	}
	p[0] = relocateFD(p[0]) // what Netpoll polls (see netpoll_race.go)
	for _, fd := range p {
		if err := syscall.SetNonblock(fd, true); err != nil {
			_ = syscall.Close(p[0])
			_ = syscall.Close(p[1])
			_ = lnFile.Close()
			return nil, err
		}
	}
	l := &goAcceptListener{ln: ln, lnFile: lnFile, addr: ln.Addr(), rfd: p[0], wfd: p[1], acceptDone: make(chan struct{})}
	go l.acceptLoop()
	return l, nil
}

// acceptLoop accepts connections from the real listener until it closes.
// Go's poller waits for the listener to be readable; the accept itself is
// a raw system call, so the connection's descriptor is never Go's (no
// duplicate, nothing to unregister) and goes to Netpoll as it is.
func (l *goAcceptListener) acceptLoop() {
	defer close(l.acceptDone)
	network := l.addr.Network()
	rc, err := l.lnFile.SyscallConn()
	if err != nil {
		return
	}
	backoff := time.Duration(0)
	for {
		nfd := -1
		var sa syscall.Sockaddr
		var aerr error
		if err := rc.Read(func(fd uintptr) bool {
			syscall.ForkLock.RLock()
			nfd, sa, aerr = syscall.Accept(int(fd))
			if aerr == nil {
				syscall.CloseOnExec(nfd)
			}
			syscall.ForkLock.RUnlock()
			return aerr != syscall.EAGAIN // EAGAIN: wait until readable
		}); err != nil {
			return // the listener was closed
		}
		if aerr != nil {
			if aerr == syscall.EINTR || aerr == syscall.ECONNABORTED {
				continue
			}
			// Out of descriptors and the like: wait a little, as
			// net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		nfd = relocateFD(nfd) // see netpoll_race.go
		if err := syscall.SetNonblock(nfd, true); err != nil {
			_ = syscall.Close(nfd)
			continue
		}
		if network == "tcp" {
			// As Netpoll's own accept path and Go's net package do.
			_ = syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		}
		ac := &acceptedConn{fd: nfd, local: l.addr, remote: sockaddrToAddr(network, sa)}
		if !l.enqueue(ac) {
			_ = syscall.Close(nfd)
			return
		}
	}
}

// sockaddrToAddr converts an accepted peer's address.
func sockaddrToAddr(network string, sa syscall.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: sa.Port}
	case *syscall.SockaddrInet6:
		zone := ""
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				zone = ifi.Name
			}
		}
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: sa.Port, Zone: zone}
	case *syscall.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: network}
	}
	return &net.UnixAddr{Net: network} // an unnamed peer
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
		// Both descriptors of the listening socket: it is closed when
		// the last one is. Go's poller owns both, so closing them is
		// safe while acceptLoop waits.
		_ = l.lnFile.Close()
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

// acceptedConn is an accepted connection's descriptor, which Netpoll
// takes over (it reads only Fd, LocalAddr and RemoteAddr, and closes the
// descriptor itself).
type acceptedConn struct {
	fd            int
	local, remote net.Addr
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
