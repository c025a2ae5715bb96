//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine_test

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
)

// npServe serves the echo protocol on a Netpoll server listening on
// loopback and returns it with its address.
func npServe(t testing.TB) (engine.Server, string, chan error) {
	t.Helper()
	ln, err := engine.Netpoll.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := engine.Netpoll.NewServer(engine.ServerParams{Handler: &stdHandler{request: stdEcho}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return srv, ln.Addr().String(), served
}

// npEchoOnce sends one echo request on c and reads the reply.
func npEchoOnce(t testing.TB, c net.Conn, body string) {
	t.Helper()
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	msg = append(msg, body...)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := readFull(c, got); err != nil {
		t.Fatalf("echo %q: %v", body, err)
	}
	if string(got[4:]) != body {
		t.Fatalf("echo %q: got %q", body, got[4:])
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func npShutdown(t testing.TB, srv engine.Server, served chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestNetpollStopAccepting: after StopAccepting a Netpoll server refuses
// new connections at once and goes on serving the open ones until
// Shutdown.
func TestNetpollStopAccepting(t *testing.T) {
	stdLeakCheck(t)
	srv, addr, served := npServe(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	npEchoOnce(t, c, "before")
	as, ok := srv.(engine.AcceptStopper)
	if !ok {
		t.Fatal("the Netpoll server is not an AcceptStopper")
	}
	as.StopAccepting()
	if c2, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c2.Close()
		t.Error("a dial after StopAccepting succeeded")
	}
	npEchoOnce(t, c, "after")
	npShutdown(t, srv, served)
}

// TestNetpollStopAcceptingChurn: servers that start, take a connection,
// stop accepting and shut down, one after another, never disturb another
// server's accepting (stopping Netpoll's listening socket early once let a
// stale event of a closed descriptor stop another server's accepts), and
// leave no descriptor behind.
func TestNetpollStopAcceptingChurn(t *testing.T) {
	stdLeakCheck(t)
	other, otherAddr, otherServed := npServe(t)
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return -1
		}
		return len(ents)
	}
	before := fds()
	for i := 0; i < 40; i++ {
		srv, addr, served := npServe(t)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		npEchoOnce(t, c, "x")
		srv.(engine.AcceptStopper).StopAccepting()
		_ = c.Close()
		npShutdown(t, srv, served)
		oc, err := net.DialTimeout("tcp", otherAddr, time.Second)
		if err != nil {
			t.Fatalf("round %d: the other server refused: %v", i, err)
		}
		npEchoOnce(t, oc, "other")
		_ = oc.Close()
	}
	npShutdown(t, other, otherServed)
	if runtime.GOOS == "linux" {
		deadline := time.Now().Add(3 * time.Second)
		for fds() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if after := fds(); after > before {
			t.Errorf("%d descriptors open after 40 servers, %d before", after, before)
		}
	}
}

// BenchmarkNetpollAcceptEcho: a new connection, one echo, close (the cost
// of the accept hand-over from Go's poller to Netpoll's).
func BenchmarkNetpollAcceptEcho(b *testing.B) {
	srv, addr, served := npServe(b)
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		npEchoOnce(b, c, "x")
		_ = c.Close()
	}
	b.StopTimer()
	npShutdown(b, srv, served)
}
