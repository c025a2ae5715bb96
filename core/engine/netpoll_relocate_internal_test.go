//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// fdOpen reports whether fd is an open descriptor.
func fdOpen(fd int) bool {
	_, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
	return errno == 0
}

// TestRelocateFD: race builds move the engine's own descriptors to high
// numbers in rotation (closing the old number); other builds leave them.
func TestRelocateFD(t *testing.T) {
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(p[1])
	fd := relocateFD(p[0])
	defer syscall.Close(fd)
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if !highRelocation || rl.Cur < 1<<15 {
		if fd != p[0] {
			t.Fatalf("relocateFD(%d) = %d, want it unchanged", p[0], fd)
		}
		return
	}
	if fd < 1<<14 {
		t.Fatalf("relocateFD(%d) = %d, want a number of at least %d", p[0], fd, 1<<14)
	}
	if fdOpen(p[0]) {
		t.Fatalf("descriptor %d is still open after the move", p[0])
	}
	if _, err := syscall.Write(p[1], []byte{7}); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if n, err := syscall.Read(fd, b[:]); n != 1 || err != nil || b[0] != 7 {
		t.Fatalf("read from the moved descriptor: %d, %v, %v", n, err, b)
	}
	// The next move takes a different number: a stale event of one
	// cannot reach the next.
	if err := syscall.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(p[1])
	fd2 := relocateFD(p[0])
	defer syscall.Close(fd2)
	if fd2 == fd || fd2 < 1<<14 {
		t.Fatalf("second move: %d (first %d)", fd2, fd)
	}
}

// TestAcceptPipeRelocated: in race builds the descriptor Netpoll polls
// for a listener and each accepted connection sit at high numbers.
func TestAcceptPipeRelocated(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gal, err := newGoAcceptListener(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer gal.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got net.Conn
	for try := 0; got == nil; try++ {
		if try == 2000 {
			t.Fatal("the connection was not announced within 2 s")
		}
		time.Sleep(time.Millisecond)
		if got, err = gal.Accept(); err != nil {
			t.Fatal(err)
		}
	}
	ac := got.(*acceptedConn)
	defer syscall.Close(ac.fd)
	if !fdOpen(ac.fd) {
		t.Fatalf("accepted descriptor %d is not open", ac.fd)
	}
	high := highRelocation && highBase != 0
	if high != (gal.rfd >= 1<<14) || high != (ac.fd >= 1<<14) {
		t.Fatalf("relocation %v: pipe %d, accepted %d", high, gal.rfd, ac.fd)
	}
}
