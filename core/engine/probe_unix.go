//go:build linux || darwin || freebsd || netbsd || openbsd

package engine

import (
	"errors"
	"io"
	"syscall"
)

// peerClosedFd reports whether the peer of the socket fd has closed or
// reset it, with one non-blocking MSG_PEEK that consumes nothing.
func peerClosedFd(fd int) bool {
	var b [1]byte
	for {
		n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err == nil:
			return n == 0 // 0 bytes without an error is the peer's FIN
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EWOULDBLOCK):
			return false
		}
		return true // ECONNRESET and friends: the connection is gone
	}
}

// peerClosedRaw is peerClosedFd on a connection that exposes its socket.
func peerClosedRaw(sc syscall.Conn) bool {
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	// Control, unlike Read, does not wait for a reader blocked on the
	// connection: the peek never blocks, so it may run beside one.
	closed := false
	if err := rc.Control(func(fd uintptr) { closed = peerClosedFd(int(fd)) }); err != nil {
		return true
	}
	return closed
}

// readNowFd reads into b what the socket fd has received, without waiting
// and whatever read deadline the connection has (one recvfrom with
// MSG_DONTWAIT). It returns 0 and a nil error when nothing is there, and
// io.EOF when the peer has closed.
func readNowFd(fd int, b []byte) (int, error) {
	for {
		n, _, err := syscall.Recvfrom(fd, b, syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EWOULDBLOCK):
			return 0, nil
		case err != nil:
			return 0, err
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// readNowRaw is readNowFd on a connection that exposes its socket. Only
// the connection's reading goroutine may call it.
func readNowRaw(sc syscall.Conn, b []byte) (n int, err error) {
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, nil
	}
	// Control, unlike Read, does not look at the read deadline.
	if cerr := rc.Control(func(fd uintptr) { n, err = readNowFd(int(fd), b) }); cerr != nil {
		return 0, nil
	}
	return n, err
}
