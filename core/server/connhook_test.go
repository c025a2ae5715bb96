package server_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
)

// connLimit is a ConnHook that accepts at most max connections at a time,
// as a connection limiter does.
type connLimit struct {
	max int

	mu                          sync.Mutex
	open                        int
	accepted, refused, closed   int
	acceptedFrom, closedFrom    map[string]int
	closedWithoutAccept, doubly bool
}

func newConnLimit(max int) *connLimit {
	return &connLimit{max: max, acceptedFrom: map[string]int{}, closedFrom: map[string]int{}}
}

var errTooMany = errors.New("too many connections")

func (l *connLimit) Accept(remote net.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max {
		l.refused++
		return errTooMany
	}
	l.open++
	l.accepted++
	l.acceptedFrom[remote.String()]++
	return nil
}

func (l *connLimit) Closed(remote net.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := remote.String()
	if l.acceptedFrom[k] == 0 {
		l.closedWithoutAccept = true
	}
	l.closedFrom[k]++
	if l.closedFrom[k] > l.acceptedFrom[k] {
		l.doubly = true
	}
	l.open--
	l.closed++
}

func (l *connLimit) counts() (open, accepted, refused, closed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.accepted, l.refused, l.closed
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// toyCall makes a Framed toy call of Echo on c and returns the reply
// payload.
func toyCall(c net.Conn, seq uint32, payload string) (string, error) {
	msg := []byte{0xAB, 1, 0, 4, 'E', 'c', 'h', 'o'}
	msg = binary.BigEndian.AppendUint32(msg, seq)
	msg = append(msg, payload...)
	frame := append(binary.BigEndian.AppendUint32(nil, uint32(len(msg))), msg...)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(frame); err != nil {
		return "", err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return "", err
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		return "", err
	}
	if len(body) < 12 || body[1] != 2 {
		return "", errors.New("not a reply")
	}
	return string(body[12:]), nil
}

func TestConnHookLimit(t *testing.T) {
	for _, eng := range testEngines() {
		t.Run(eng.Name(), func(t *testing.T) {
			t.Cleanup(func() { leaktest.VerifyNone(t) })
			limit := newConnLimit(2)
			svr := start(t, echo, server.WithEngine(eng), server.WithConnHook(limit))
			addr := svr.Addr().String()
			dial := func() net.Conn {
				t.Helper()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			call := func(c net.Conn, what string) {
				t.Helper()
				if got, err := toyCall(c, 1, what); err != nil || got != what {
					t.Fatalf("%s: %q, %v", what, got, err)
				}
			}
			c1, c2 := dial(), dial()
			call(c1, "one")
			call(c2, "two")

			// The third is closed at once: nothing is written to it, and
			// a request sent on it gets no reply.
			c3 := dial()
			_, _ = c3.Write([]byte{0, 0, 0, 12, 0xAB, 1, 0, 4, 'E', 'c', 'h', 'o', 0, 0, 0, 1})
			_ = c3.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(c3)
			if len(b) != 0 || (err != nil && !isReset(err)) {
				t.Fatalf("refused connection: read %x, %v; want it closed with nothing written", b, err)
			}
			waitFor(t, "the refusal", func() bool { _, _, refused, _ := limit.counts(); return refused == 1 })

			// The accepted ones keep working.
			call(c1, "one again")
			call(c2, "two again")

			// Once one closes, a new connection is accepted.
			c1.Close()
			waitFor(t, "Closed of the first connection", func() bool { _, _, _, closed := limit.counts(); return closed == 1 })
			c4 := dial()
			call(c4, "four")
			call(c2, "two, third time")

			if err := svr.Stop(); err != nil {
				t.Fatal(err)
			}
			open, accepted, refused, closed := limit.counts()
			if open != 0 || accepted != 3 || refused != 1 || closed != 3 {
				t.Errorf("after Stop: open %d, accepted %d, refused %d, closed %d; want 0, 3, 1, 3", open, accepted, refused, closed)
			}
			if limit.closedWithoutAccept || limit.doubly {
				t.Error("Closed ran for a connection Accept did not accept, or twice")
			}
		})
	}
}

// testEngines returns the engines to test: the default one (Netpoll where
// it runs) and Std.
func testEngines() []engine.Engine {
	if engine.Default == engine.Std {
		return []engine.Engine{engine.Std}
	}
	return []engine.Engine{engine.Default, engine.Std}
}

// isReset reports whether err is a connection reset: closing a socket
// with unread input resets it.
func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// order is a ConnHook that records its calls in a shared log.
type order struct {
	name   string
	refuse bool
	log    *callLog
}

type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(s string) {
	l.mu.Lock()
	l.calls = append(l.calls, s)
	l.mu.Unlock()
}

func (l *callLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

func (o order) Accept(net.Addr) error {
	o.log.add(o.name + ".Accept")
	if o.refuse {
		return errTooMany
	}
	return nil
}

func (o order) Closed(net.Addr) { o.log.add(o.name + ".Closed") }

// Hooks run in order; a refusal by a later hook tells the earlier ones
// that the connection closed, and the ones after it never hear of it.
func TestConnHookChain(t *testing.T) {
	t.Cleanup(func() { leaktest.VerifyNone(t) })
	log := &callLog{}
	svr := start(t, echo, server.WithConnHook(order{"a", false, log}), server.WithConnHook(nil),
		server.WithConnHook(order{"b", false, log}))
	c, err := net.Dial("tcp", svr.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := toyCall(c, 1, "x"); err != nil || got != "x" {
		t.Fatal(got, err)
	}
	c.Close()
	want := []string{"a.Accept", "b.Accept", "b.Closed", "a.Closed"}
	waitFor(t, "Closed", func() bool { return len(log.get()) == len(want) })
	if got := log.get(); !equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}

	log2 := &callLog{}
	svr2 := start(t, echo, server.WithConnHook(order{"a", false, log2}), server.WithConnHook(order{"b", true, log2}),
		server.WithConnHook(order{"c", false, log2}))
	c2, err := net.Dial("tcp", svr2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := toyCall(c2, 1, "x"); err == nil {
		t.Fatal("a refused connection answered")
	}
	if err := svr2.Stop(); err != nil {
		t.Fatal(err)
	}
	want = []string{"a.Accept", "b.Accept", "a.Closed"}
	if got := log2.get(); !equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A connection the server closes itself (a protocol error) is Closed too.
func TestConnHookServerCloses(t *testing.T) {
	for _, eng := range testEngines() {
		t.Run(eng.Name(), func(t *testing.T) {
			t.Cleanup(func() { leaktest.VerifyNone(t) })
			limit := newConnLimit(10)
			svr := start(t, echo, server.WithEngine(eng), server.WithConnHook(limit))
			c, err := net.Dial("tcp", svr.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c)
			waitFor(t, "Closed", func() bool { _, _, _, closed := limit.counts(); return closed == 1 })
			if _, accepted, _, _ := limit.counts(); accepted != 1 {
				t.Fatalf("accepted %d", accepted)
			}
		})
	}
}
