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
	if highRelocation && rl.Cur >= 1<<13 && highBase == 0 {
		t.Fatalf("no relocation with a limit of %d open files", rl.Cur)
	}
	if !highRelocation || highBase == 0 {
		if fd != p[0] {
			t.Fatalf("relocateFD(%d) = %d, want it unchanged", p[0], fd)
		}
		return
	}
	if fd < highBase || fd >= highBase+highSpan {
		t.Fatalf("relocateFD(%d) = %d, want a number in [%d, %d)", p[0], fd, highBase, highBase+highSpan)
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
	if fd2 == fd || fd2 < highBase {
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
	if high && (gal.rfd < highBase || ac.fd < highBase) {
		t.Fatalf("relocation %v: pipe %d, accepted %d", high, gal.rfd, ac.fd)
	}
}

// TestDialedCloseQuarantine: closing a dialed connection ends it (the
// peer reads EOF); in race builds its descriptor's number stays taken for
// quarantineFor, then is let go, and in other builds it is free at once.
func TestDialedCloseQuarantine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, sc := dialAccepted(t, ln)
	_, plain := c.(*npConn)
	held := highRelocation && highBase != 0 // highBase is set by the dial
	if plain == held {
		t.Fatalf("dialed connection is a %T (race build %v, relocation from %d)", c, highRelocation, highBase)
	}
	fd := c.(interface{ fd() int }).fd()
	if fd < 0 {
		t.Fatalf("no descriptor behind the dialed %T", c)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Close() // a second Close is harmless
	// Close at once from two goroutines: the descriptor is closed once.
	c2, _ := dialAccepted(t, ln)
	closed := make(chan struct{})
	go func() { _ = c2.Close(); close(closed) }()
	_ = c2.Close()
	<-closed
	_ = sc.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if n, err := sc.Read(b[:]); n != 0 || err == nil {
		t.Fatalf("peer read %d, %v after Close; want EOF", n, err)
	}
	if !held {
		if fdOpen(fd) {
			// Another test's descriptor may have taken the number.
			t.Logf("descriptor %d is open again", fd)
		}
		return
	}
	// The number is held by /dev/null (the socket is gone: the peer read
	// EOF above), then let go; another descriptor may take it afterwards,
	// but not /dev/null.
	if !isDevNull(fd) {
		t.Fatalf("descriptor %d is not held by /dev/null after Close", fd)
	}
	deadline := time.Now().Add(quarantineFor + 2*time.Second)
	for isDevNull(fd) {
		if time.Now().After(deadline) {
			t.Fatalf("descriptor %d still held after %v", fd, quarantineFor+2*time.Second)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialAccepted dials ln with the Netpoll engine and returns the
// connection and ln's end of it, which the test's end closes.
func dialAccepted(t *testing.T, ln net.Listener) (Conn, net.Conn) {
	t.Helper()
	c, err := Netpoll.Dial("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	return c, sc
}

// isDevNull reports whether fd is open on /dev/null.
func isDevNull(fd int) bool {
	var st, null syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil || syscall.Stat("/dev/null", &null) != nil {
		return false
	}
	return st.Rdev == null.Rdev && st.Mode&syscall.S_IFMT == syscall.S_IFCHR
}
