//go:build linux || darwin || freebsd || netbsd || openbsd

package engine

import (
	"errors"
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

// readNowRaw reads into b what the socket of sc has received, without
// waiting: it returns 0 when nothing is there, or on any error (which a
// blocking read then meets). Only the connection's reading goroutine may
// call it.
func readNowRaw(sc syscall.Conn, b []byte) int {
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	// Returning true from the callback ends Read without waiting for the
	// socket to become readable.
	err = rc.Read(func(fd uintptr) bool {
		for {
			m, err := syscall.Read(int(fd), b)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err == nil && m > 0 {
				n = m
			}
			return true
		}
	})
	if err != nil {
		return 0
	}
	return n
}
