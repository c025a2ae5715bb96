package engine_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/leaktest"
)

// stdLeakCheck fails t if goroutines are left once t and its cleanups
// are done. Call it first, so that its cleanup runs last.
func stdLeakCheck(t *testing.T) {
	t.Cleanup(func() { leaktest.VerifyNone(t) })
}

// stdHandler adapts funcs to engine.Handler; nil funcs do nothing.
type stdHandler struct {
	connect    func(ctx context.Context, c engine.Conn) context.Context
	request    func(ctx context.Context, c engine.Conn) error
	disconnect func(ctx context.Context, c engine.Conn)
}

func (h *stdHandler) OnConnect(ctx context.Context, c engine.Conn) context.Context {
	if h.connect != nil {
		return h.connect(ctx, c)
	}
	return ctx
}

func (h *stdHandler) OnRequest(ctx context.Context, c engine.Conn) error {
	if h.request != nil {
		return h.request(ctx, c)
	}
	return nil
}

func (h *stdHandler) OnDisconnect(ctx context.Context, c engine.Conn) {
	if h.disconnect != nil {
		h.disconnect(ctx, c)
	}
}

// stdEcho serves every buffered request of the echo protocol (a
// big-endian u32 length, then that many bytes, echoed back) with one flush.
func stdEcho(_ context.Context, c engine.Conn) error {
	r, w := c.Reader(), c.Writer()
	for {
		hdr, err := r.Next(4)
		if err != nil {
			return err
		}
		body, err := r.Next(int(binary.BigEndian.Uint32(hdr)))
		if err != nil {
			return err
		}
		out, err := w.Malloc(4 + len(body))
		if err != nil {
			return err
		}
		copy(out, hdr)
		copy(out[4:], body)
		if err := r.Release(); err != nil {
			return err
		}
		if r.Len() == 0 {
			return w.Flush()
		}
	}
}

// stdTestServer is a running Std server on loopback.
type stdTestServer struct {
	addr   string
	srv    engine.Server
	served chan error
}

func startStd(t *testing.T, p engine.ServerParams) *stdTestServer {
	t.Helper()
	ln, err := engine.Std.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := engine.Std.NewServer(p)
	if err != nil {
		t.Fatal(err)
	}
	s := &stdTestServer{addr: ln.Addr().String(), srv: srv, served: make(chan error, 1)}
	go func() { s.served <- srv.Serve(ln) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the server down (again) and checks that Serve returned nil.
func (s *stdTestServer) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if s.served != nil {
		if err := <-s.served; err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
		s.served = nil
	}
}

func dialStd(t *testing.T, addr string) engine.Conn {
	t.Helper()
	c, err := engine.Std.Dial("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// stdPair returns a Std client conn and the raw server side of a loopback
// TCP connection.
func stdPair(t *testing.T) (engine.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := dialStd(t, ln.Addr().String())
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	return c, peer
}

func stdWriteEcho(t *testing.T, c engine.Conn, body []byte) {
	t.Helper()
	b, err := c.Writer().Malloc(4 + len(body))
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(b, uint32(len(body)))
	copy(b[4:], body)
}

func stdReadEcho(t *testing.T, c engine.Conn) []byte {
	t.Helper()
	r := c.Reader()
	hdr, err := r.Next(4)
	if err != nil {
		t.Fatal(err)
	}
	body, err := r.Next(int(binary.BigEndian.Uint32(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(body)
	if err := r.Release(); err != nil {
		t.Fatal(err)
	}
	return out
}

func stdExpectEOF(t *testing.T, c engine.Conn) {
	t.Helper()
	if err := c.SetReadTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	b, err := c.Reader().Next(1)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("Next = %q, %v; want EOF", b, err)
	}
	if c.IsActive() {
		t.Error("IsActive after EOF")
	}
}

func TestStdName(t *testing.T) {
	stdLeakCheck(t)
	if got := engine.Std.Name(); got != "std" {
		t.Errorf("Name = %q", got)
	}
}

func TestStdNewServerErrors(t *testing.T) {
	stdLeakCheck(t)
	if _, err := engine.Std.NewServer(engine.ServerParams{}); err == nil {
		t.Error("NewServer without Handler: no error")
	}
	if _, err := engine.Std.NewServer(engine.ServerParams{Handler: &stdHandler{}, IdleTimeout: -1}); err == nil {
		t.Error("NewServer with a negative timeout: no error")
	}
}

func TestStdDialError(t *testing.T) {
	stdLeakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if c, err := engine.Std.Dial("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("Dial to a closed port: no error")
	}
}

func TestStdReader(t *testing.T) {
	stdLeakCheck(t)
	c, peer := stdPair(t)
	r := c.Reader()
	if _, err := peer.Write([]byte("hello world!")); err != nil {
		t.Fatal(err)
	}
	p, err := r.Peek(5)
	if err != nil || string(p) != "hello" {
		t.Fatalf("Peek(5) = %q, %v", p, err)
	}
	if cap(p) != 5 {
		t.Errorf("cap(Peek(5)) = %d, want 5", cap(p))
	}
	if n, err := r.Next(6); err != nil || string(n) != "hello " {
		t.Fatalf("Next(6) = %q, %v", n, err)
	}
	if err := r.Skip(2); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Next(3); err != nil || string(n) != "rld" {
		t.Fatalf("Next(3) = %q, %v", n, err)
	}
	if r.Len() != 1 {
		t.Errorf("Len = %d, want 1", r.Len())
	}
	if n, err := r.Next(0); err != nil || len(n) != 0 {
		t.Errorf("Next(0) = %q, %v", n, err)
	}
	if _, err := r.Next(-1); err == nil {
		t.Error("Next(-1): no error")
	}
	if err := r.Release(); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Next(1); err != nil || string(n) != "!" {
		t.Fatalf("Next(1) = %q, %v", n, err)
	}
	if r.Len() != 0 {
		t.Errorf("Len = %d, want 0", r.Len())
	}
}

// TestStdReadAhead: ReadAhead takes in what has arrived without waiting,
// up to its limit, and keeps the bytes in order behind those buffered.
func TestStdReadAhead(t *testing.T) {
	stdLeakCheck(t)
	c, peer := stdPair(t)
	r := c.Reader()
	ra, ok := r.(conn.ReadAheader)
	if !ok {
		t.Fatal("the std reader is not a conn.ReadAheader")
	}
	// Nothing has arrived: it returns at once.
	done := make(chan int, 1)
	go func() { done <- ra.ReadAhead(1 << 20) }()
	select {
	case n := <-done:
		if n != 0 {
			t.Fatalf("ReadAhead with nothing sent = %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadAhead waited for bytes")
	}
	want := make([]byte, 300<<10) // more than one read's buffer
	for i := range want {
		want[i] = byte(i * 7)
	}
	if _, err := peer.Write(want); err != nil {
		t.Fatal(err)
	}
	if p, err := r.Next(10); err != nil || !bytes.Equal(p, want[:10]) {
		t.Fatalf("Next(10) = %v", err)
	}
	// It stops at its limit, and takes in the rest when asked for more.
	deadline := time.Now().Add(5 * time.Second)
	for _, limit := range []int{100 << 10, 1 << 20} {
		want := min(limit, len(want)-10)
		for r.Len() < want && time.Now().Before(deadline) {
			if n := ra.ReadAhead(limit); n > want {
				t.Fatalf("ReadAhead(%d) buffered %d, want at most %d", limit, n, want)
			}
			time.Sleep(time.Millisecond)
		}
		if r.Len() != want {
			t.Fatalf("ReadAhead(%d): %d buffered, want %d", limit, r.Len(), want)
		}
	}
	p, err := r.Next(len(want) - 10)
	if err != nil || !bytes.Equal(p, want[10:]) {
		t.Fatalf("bytes read ahead differ from those sent (%v)", err)
	}
}

// TestStdReadAheadPastDeadline: the read deadline a timed-out read left
// on the socket does not stop ReadAhead, and the peer's close is kept for
// the reads after the bytes it took in.
func TestStdReadAheadPastDeadline(t *testing.T) {
	stdLeakCheck(t)
	c, peer := stdPair(t)
	if err := c.SetReadTimeout(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r := c.Reader()
	if _, err := r.Peek(1); err == nil {
		t.Fatal("Peek with nothing sent: no timeout")
	}
	time.Sleep(30 * time.Millisecond) // the deadline on the socket has passed
	if _, err := peer.Write([]byte("late bytes")); err != nil {
		t.Fatal(err)
	}
	_ = peer.Close()
	ra := r.(conn.ReadAheader)
	deadline := time.Now().Add(2 * time.Second)
	for ra.ReadAhead(1<<10) < len("late bytes") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if r.Len() != len("late bytes") {
		t.Fatalf("ReadAhead past the read deadline buffered %d bytes, want %d", r.Len(), len("late bytes"))
	}
	if p, err := r.Next(len("late bytes")); err != nil || string(p) != "late bytes" {
		t.Fatalf("Next after ReadAhead = %q, %v", p, err)
	}
	if _, err := r.Next(1); !errors.Is(err, io.EOF) {
		t.Fatalf("Next past the peer's close = %v, want EOF", err)
	}
}

// TestStdReaderStream reads a stream of messages of random sizes with and
// without Release in between, exercising growth and compaction.
func TestStdReaderStream(t *testing.T) {
	stdLeakCheck(t)
	c, peer := stdPair(t)
	rng := mrand.New(mrand.NewPCG(1, 2))
	sizes := make([]int, 2000)
	var stream []byte
	for i := range sizes {
		sizes[i] = rng.IntN(20000)
		if i%100 == 0 {
			sizes[i] = 300000
		}
		for j := range sizes[i] {
			stream = append(stream, byte(i+j*7))
		}
	}
	done := make(chan error, 1)
	go func() {
		// Uneven writes, so reads see partial messages.
		rest := stream
		for len(rest) > 0 {
			n := min(len(rest), 1+rng.IntN(50000))
			if _, err := peer.Write(rest[:n]); err != nil {
				done <- err
				return
			}
			rest = rest[n:]
		}
		done <- nil
	}()
	r := c.Reader()
	off := 0
	var held [][]byte // slices lent since the last Release, with their expected bytes
	var want [][]byte
	for i, n := range sizes {
		if i%3 == 0 {
			p, err := r.Peek(min(n, 1))
			if err != nil {
				t.Fatal(err)
			}
			held, want = append(held, p), append(want, stream[off:off+len(p)])
		}
		b, err := r.Next(n)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		held, want = append(held, b), append(want, stream[off:off+n])
		off += n
		for j := range held {
			if !bytes.Equal(held[j], want[j]) {
				t.Fatalf("message %d: a slice lent before Release changed", i)
			}
		}
		if i%4 != 3 {
			if err := r.Release(); err != nil {
				t.Fatal(err)
			}
			held, want = held[:0], want[:0]
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestStdReadTimeout(t *testing.T) {
	stdLeakCheck(t)
	c, peer := stdPair(t)
	r := c.Reader()
	if err := c.SetReadTimeout(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := r.Next(1)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Next on a silent conn: %v, want os.ErrDeadlineExceeded", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("timeout error %v is not a net.Error with Timeout()", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("timed out after %v", d)
	}
	if !c.IsActive() {
		t.Error("inactive after a read timeout")
	}
	// A partial message times out and is kept.
	if _, err := peer.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(4); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Next(4) with 2 bytes: %v", err)
	}
	if _, err := peer.Write([]byte("cd")); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadTimeout(0); err != nil {
		t.Fatal(err)
	}
	if b, err := r.Next(4); err != nil || string(b) != "abcd" {
		t.Fatalf("Next(4) = %q, %v", b, err)
	}
	if err := c.SetReadTimeout(-1); err == nil {
		t.Error("SetReadTimeout(-1): no error")
	}
}

func TestStdEOF(t *testing.T) {
	stdLeakCheck(t)
	c, peer := stdPair(t)
	if _, err := peer.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	peer.Close()
	if b, err := c.Reader().Next(2); err != nil || string(b) != "ab" {
		t.Fatalf("Next(2) = %q, %v", b, err)
	}
	stdExpectEOF(t, c)
	if _, err := c.Reader().Peek(1); !errors.Is(err, io.EOF) {
		t.Errorf("Peek after EOF: %v", err)
	}
}

func TestStdClose(t *testing.T) {
	stdLeakCheck(t)
	c, _ := stdPair(t)
	if !c.IsActive() {
		t.Fatal("new conn inactive")
	}
	if c.LocalAddr() == nil || c.RemoteAddr() == nil {
		t.Error("nil address")
	}
	blocked := make(chan error, 1)
	go func() {
		_, err := c.Reader().Next(1)
		blocked <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if c.IsActive() {
		t.Error("IsActive after Close")
	}
	select {
	case err := <-blocked:
		if err == nil {
			t.Error("blocked Next returned no error after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Next")
	}
	if _, err := c.Writer().WriteBinary([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.Writer().Flush(); err == nil {
		t.Error("Flush after Close: no error")
	}
}

// stdCountingConn counts Write calls.
type stdCountingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *stdCountingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func TestStdWriter(t *testing.T) {
	stdLeakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	cc := &stdCountingConn{Conn: nc}
	c := engine.NewStdConn(cc)
	defer c.Close()
	if got := c.(interface{ NetConn() net.Conn }).NetConn(); got != cc {
		t.Errorf("NetConn = %v", got)
	}

	w := c.Writer()
	if err := w.Flush(); err != nil || cc.writes.Load() != 0 {
		t.Fatalf("empty Flush: %v, %d writes", err, cc.writes.Load())
	}
	var want []byte
	for i := range 100 {
		b, err := w.Malloc(i)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != i || cap(b) != i {
			t.Fatalf("Malloc(%d): len %d cap %d", i, len(b), cap(b))
		}
		for j := range b {
			b[j] = byte(i)
		}
		want = append(want, b...)
		if _, err := w.WriteBinary([]byte{0xee}); err != nil {
			t.Fatal(err)
		}
		want = append(want, 0xee)
	}
	big := bytes.Repeat([]byte{7}, 200<<10)
	if _, err := w.WriteBinary(big); err != nil {
		t.Fatal(err)
	}
	want = append(want, big...)
	if w.MallocLen() != len(want) {
		t.Fatalf("MallocLen = %d, want %d", w.MallocLen(), len(want))
	}
	if _, err := w.Malloc(-1); err == nil {
		t.Error("Malloc(-1): no error")
	}
	b := flushRead(t, w, peer, len(want))
	if n := cc.writes.Load(); n != 1 {
		t.Errorf("Flush made %d writes, want 1", n)
	}
	if w.MallocLen() != 0 {
		t.Errorf("MallocLen after Flush = %d", w.MallocLen())
	}
	if !bytes.Equal(b, want) {
		t.Error("peer read other bytes than written")
	}
}

func TestStdServerEcho(t *testing.T) {
	stdLeakCheck(t)
	s := startStd(t, engine.ServerParams{Handler: &stdHandler{request: stdEcho}})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dialStd(t, s.addr)
			for round := range 20 {
				// Pipeline a batch, then read the replies in order.
				var sent [][]byte
				for k := range 5 {
					body := bytes.Repeat([]byte{byte(i + k)}, (round*997+k*131)%9000)
					stdWriteEcho(t, c, body)
					sent = append(sent, body)
				}
				if err := c.Writer().Flush(); err != nil {
					t.Error(err)
					return
				}
				for _, body := range sent {
					if got := stdReadEcho(t, c); !bytes.Equal(got, body) {
						t.Errorf("echo of %d bytes: got %d bytes", len(body), len(got))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestStdServerTLS(t *testing.T) {
	stdLeakCheck(t)
	cert := stdSelfSigned(t)
	ln, err := engine.Std.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := engine.Std.NewServer(engine.ServerParams{Handler: &stdHandler{
		request: stdEcho,
		connect: func(ctx context.Context, c engine.Conn) context.Context {
			if _, ok := c.(interface{ NetConn() net.Conn }).NetConn().(*tls.Conn); !ok {
				t.Error("server conn does not wrap a *tls.Conn")
			}
			return ctx
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}))
	}()
	defer func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()

	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	tc, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	c := engine.NewStdConn(tc)
	defer c.Close()
	stdWriteEcho(t, c, []byte("over tls"))
	if err := c.Writer().Flush(); err != nil {
		t.Fatal(err)
	}
	if got := stdReadEcho(t, c); string(got) != "over tls" {
		t.Errorf("echo = %q", got)
	}
}

func stdSelfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

type stdCtxKey struct{}

func TestStdServerEvents(t *testing.T) {
	stdLeakCheck(t)
	var connects, requests, disconnects atomic.Int32
	disconnected := make(chan struct{})
	s := startStd(t, engine.ServerParams{Handler: &stdHandler{
		connect: func(ctx context.Context, c engine.Conn) context.Context {
			connects.Add(1)
			if c.RemoteAddr() == nil || c.LocalAddr() == nil {
				t.Error("nil address")
			}
			return context.WithValue(ctx, stdCtxKey{}, "conn")
		},
		request: func(ctx context.Context, c engine.Conn) error {
			requests.Add(1)
			if ctx.Value(stdCtxKey{}) != "conn" {
				t.Error("OnRequest did not get the OnConnect context")
			}
			return stdEcho(ctx, c)
		},
		disconnect: func(ctx context.Context, c engine.Conn) {
			if ctx.Value(stdCtxKey{}) != "conn" {
				t.Error("OnDisconnect did not get the OnConnect context")
			}
			if c.IsActive() {
				t.Error("conn active in OnDisconnect")
			}
			if disconnects.Add(1) == 1 {
				close(disconnected)
			}
		},
	}})
	c := dialStd(t, s.addr)
	for range 3 {
		stdWriteEcho(t, c, []byte("ping"))
		if err := c.Writer().Flush(); err != nil {
			t.Fatal(err)
		}
		stdReadEcho(t, c)
	}
	c.Close()
	select {
	case <-disconnected:
	case <-time.After(5 * time.Second):
		t.Fatal("no OnDisconnect")
	}
	s.stop(t)
	if connects.Load() != 1 || disconnects.Load() != 1 || requests.Load() < 3 {
		t.Errorf("connects %d, requests %d, disconnects %d", connects.Load(), requests.Load(), disconnects.Load())
	}
}

func TestStdServerRequestError(t *testing.T) {
	stdLeakCheck(t)
	disconnected := make(chan struct{})
	s := startStd(t, engine.ServerParams{Handler: &stdHandler{
		request: func(_ context.Context, c engine.Conn) error {
			_, _ = c.Reader().Next(c.Reader().Len())
			return errors.New("bad request")
		},
		disconnect: func(context.Context, engine.Conn) { close(disconnected) },
	}})
	c := dialStd(t, s.addr)
	if _, err := c.Writer().WriteBinary([]byte("junk")); err != nil {
		t.Fatal(err)
	}
	if err := c.Writer().Flush(); err != nil {
		t.Fatal(err)
	}
	stdExpectEOF(t, c)
	<-disconnected
}

func TestStdServerIdleTimeout(t *testing.T) {
	stdLeakCheck(t)
	disconnected := make(chan struct{}, 2)
	s := startStd(t, engine.ServerParams{
		Handler: &stdHandler{
			request:    stdEcho,
			disconnect: func(context.Context, engine.Conn) { disconnected <- struct{}{} },
		},
		IdleTimeout: 150 * time.Millisecond,
	})
	idle := dialStd(t, s.addr)
	busy := dialStd(t, s.addr)
	// busy talks every 50ms for 400ms and stays open.
	for range 8 {
		stdWriteEcho(t, busy, []byte("x"))
		if err := busy.Writer().Flush(); err != nil {
			t.Fatal(err)
		}
		stdReadEcho(t, busy)
		time.Sleep(50 * time.Millisecond)
	}
	stdExpectEOF(t, idle)
	stdWriteEcho(t, busy, []byte("still here"))
	if err := busy.Writer().Flush(); err != nil {
		t.Fatal(err)
	}
	if got := stdReadEcho(t, busy); string(got) != "still here" {
		t.Errorf("echo = %q", got)
	}
	<-disconnected
}

func TestStdServerReadTimeout(t *testing.T) {
	stdLeakCheck(t)
	readErr := make(chan error, 1)
	s := startStd(t, engine.ServerParams{
		Handler: &stdHandler{request: func(_ context.Context, c engine.Conn) error {
			_, err := c.Reader().Next(8)
			readErr <- err
			return err
		}},
		ReadTimeout: 100 * time.Millisecond,
		IdleTimeout: 10 * time.Second,
	})
	c := dialStd(t, s.addr)
	if _, err := c.Writer().WriteBinary([]byte("half")); err != nil {
		t.Fatal(err)
	}
	if err := c.Writer().Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("handler read error %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadTimeout not applied")
	}
	stdExpectEOF(t, c)
}

// TestStdServerPartialRequest serves a handler that returns without
// consuming a partial request; the server waits for more bytes instead of
// calling it in a loop.
func TestStdServerPartialRequest(t *testing.T) {
	stdLeakCheck(t)
	var calls atomic.Int32
	s := startStd(t, engine.ServerParams{Handler: &stdHandler{request: func(_ context.Context, c engine.Conn) error {
		calls.Add(1)
		r := c.Reader()
		if r.Len() < 8 {
			return nil
		}
		b, err := r.Next(8)
		if err != nil {
			return err
		}
		if _, err := c.Writer().WriteBinary(b); err != nil {
			return err
		}
		if err := r.Release(); err != nil {
			return err
		}
		return c.Writer().Flush()
	}}})
	c := dialStd(t, s.addr)
	for _, part := range []string{"abcd", "efgh"} {
		if _, err := c.Writer().WriteBinary([]byte(part)); err != nil {
			t.Fatal(err)
		}
		if err := c.Writer().Flush(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b, err := c.Reader().Next(8); err != nil || string(b) != "abcdefgh" {
		t.Fatalf("reply %q, %v", b, err)
	}
	if n := calls.Load(); n > 4 {
		t.Errorf("OnRequest called %d times for one request", n)
	}
}

func TestStdShutdownIdle(t *testing.T) {
	stdLeakCheck(t)
	var disconnects atomic.Int32
	s := startStd(t, engine.ServerParams{Handler: &stdHandler{
		request:    stdEcho,
		disconnect: func(context.Context, engine.Conn) { disconnects.Add(1) },
	}})
	var conns []engine.Conn
	for range 5 {
		c := dialStd(t, s.addr)
		stdWriteEcho(t, c, []byte("hi"))
		if err := c.Writer().Flush(); err != nil {
			t.Fatal(err)
		}
		stdReadEcho(t, c)
		conns = append(conns, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown of idle conns took %v", d)
	}
	if err := <-s.served; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	s.served = nil
	for _, c := range conns {
		stdExpectEOF(t, c)
	}
	if n := disconnects.Load(); n != 5 {
		t.Errorf("%d disconnects, want 5", n)
	}
	if c, err := engine.Std.Dial("tcp", s.addr, time.Second); err == nil {
		c.Close()
		t.Error("Dial after Shutdown succeeded")
	}
}

func TestStdShutdownWaitsForRequest(t *testing.T) {
	stdLeakCheck(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	s := startStd(t, engine.ServerParams{Handler: &stdHandler{request: func(ctx context.Context, c engine.Conn) error {
		close(entered)
		<-release
		return stdEcho(ctx, c)
	}}})
	c := dialStd(t, s.addr)
	stdWriteEcho(t, c, []byte("slow"))
	if err := c.Writer().Flush(); err != nil {
		t.Fatal(err)
	}
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.srv.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a request was served", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if got := stdReadEcho(t, c); string(got) != "slow" {
		t.Errorf("reply %q", got)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	stdExpectEOF(t, c)
}

func TestStdShutdownDeadline(t *testing.T) {
	stdLeakCheck(t)
	entered := make(chan struct{})
	canceled := make(chan struct{})
	s := startStd(t, engine.ServerParams{Handler: &stdHandler{request: func(ctx context.Context, c engine.Conn) error {
		close(entered)
		<-ctx.Done()
		close(canceled)
		return ctx.Err()
	}}})
	c := dialStd(t, s.addr)
	stdWriteEcho(t, c, []byte("stuck"))
	if err := c.Writer().Flush(); err != nil {
		t.Fatal(err)
	}
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	select {
	case <-canceled:
	default:
		t.Error("connection context not canceled when Shutdown gave up")
	}
	stdExpectEOF(t, c)
}

func TestStdServeAfterShutdown(t *testing.T) {
	stdLeakCheck(t)
	srv, err := engine.Std.NewServer(engine.ServerParams{Handler: &stdHandler{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := engine.Std.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); err != nil {
		t.Errorf("Serve after Shutdown = %v", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("listener not closed: %v", err)
	}
}

// TestStdShutdownUnderLoad shuts down while clients keep sending; every
// reply a client gets is right and Shutdown finishes.
func TestStdShutdownUnderLoad(t *testing.T) {
	stdLeakCheck(t)
	s := startStd(t, engine.ServerParams{Handler: &stdHandler{request: stdEcho}})
	var wg sync.WaitGroup
	var replies atomic.Int32
	for i := range 6 {
		c := dialStd(t, s.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadTimeout(5 * time.Second)
			for k := 0; ; k++ {
				body := []byte(fmt.Sprintf("client %d request %d", i, k))
				stdWriteEchoNoFail(c, body)
				if c.Writer().Flush() != nil {
					return
				}
				r := c.Reader()
				hdr, err := r.Next(4)
				if err != nil {
					return
				}
				got, err := r.Next(int(binary.BigEndian.Uint32(hdr)))
				if err != nil {
					return
				}
				if !bytes.Equal(got, body) {
					t.Errorf("reply %q to %q", got, body)
					return
				}
				_ = r.Release()
				replies.Add(1)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	s.stop(t)
	wg.Wait()
	if replies.Load() == 0 {
		t.Error("no replies before Shutdown")
	}
}

func stdWriteEchoNoFail(c engine.Conn, body []byte) {
	b, err := c.Writer().Malloc(4 + len(body))
	if err != nil {
		return
	}
	binary.BigEndian.PutUint32(b, uint32(len(body)))
	copy(b[4:], body)
}

// stdHandlerFunc serves each connection with f until it fails.
type stdHandlerFunc func(ctx context.Context, c engine.Conn) error

func (stdHandlerFunc) OnConnect(ctx context.Context, _ engine.Conn) context.Context { return ctx }
func (f stdHandlerFunc) OnRequest(ctx context.Context, c engine.Conn) error         { return f(ctx, c) }
func (stdHandlerFunc) OnDisconnect(context.Context, engine.Conn)                    {}

func ExampleStd() {
	// An upper-casing server: each request is one line.
	srv, err := engine.Std.NewServer(engine.ServerParams{Handler: stdHandlerFunc(func(_ context.Context, c engine.Conn) error {
		r, w := c.Reader(), c.Writer()
		line, err := r.Next(r.Len())
		if err != nil {
			return err
		}
		_, _ = w.WriteBinary(bytes.ToUpper(line))
		_ = r.Release()
		return w.Flush()
	})})
	if err != nil {
		panic(err)
	}
	ln, err := engine.Std.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	c, err := engine.Std.Dial("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		panic(err)
	}
	_, _ = c.Writer().WriteBinary([]byte("hello\n"))
	_ = c.Writer().Flush()
	reply, err := c.Reader().Next(6)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", reply)
	_ = c.Close()

	_ = srv.Shutdown(context.Background())
	fmt.Println(<-served)
	// Output:
	// "HELLO\n"
	// <nil>
}

// BenchmarkStdEcho measures one 1 KiB ping-pong over loopback through a Std
// server and a Std client connection.
func BenchmarkStdEcho(b *testing.B) {
	ln, err := engine.Std.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := engine.Std.NewServer(engine.ServerParams{Handler: &stdHandler{request: stdEcho}})
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Shutdown(context.Background())
		<-served
	}()
	c, err := engine.Std.Dial("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	body := bytes.Repeat([]byte{'x'}, 1024)
	r, w := c.Reader(), c.Writer()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		out, _ := w.Malloc(4 + len(body))
		binary.BigEndian.PutUint32(out, uint32(len(body)))
		copy(out[4:], body)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Next(4 + len(body)); err != nil {
			b.Fatal(err)
		}
		_ = r.Release()
	}
}

// TestStdAnnouncedSizeNotAllocated: a length prefix announcing 16 MB,
// followed by a few bytes, does not make the reader allocate 16 MB; the
// buffer grows with the bytes that arrive (a big message still reads
// whole).
func TestStdAnnouncedSizeNotAllocated(t *testing.T) {
	stdLeakCheck(t)
	caps := make(chan int, 2)
	s := startStd(t, engine.ServerParams{
		Handler: &stdHandler{request: func(_ context.Context, c engine.Conn) error {
			r := c.Reader()
			hdr, err := r.Next(4)
			if err != nil {
				return err
			}
			n := int(binary.BigEndian.Uint32(hdr))
			body, err := r.Next(n)
			if err != nil {
				// Timed out waiting: report how much the reader holds.
				caps <- engine.StdReadBufferCap(c)
				return err
			}
			caps <- engine.StdReadBufferCap(c)
			out, _ := c.Writer().Malloc(8)
			binary.BigEndian.PutUint32(out, uint32(len(body)))
			_ = r.Release()
			return c.Writer().Flush()
		}},
		ReadTimeout: 300 * time.Millisecond,
		IdleTimeout: 10 * time.Second,
	})
	// An attacker's header: 16 MB announced, 16 bytes sent.
	c := dialStd(t, s.addr)
	msg := make([]byte, 4+16)
	binary.BigEndian.PutUint32(msg, 16<<20)
	if _, err := c.Writer().WriteBinary(msg); err != nil {
		t.Fatal(err)
	}
	if err := c.Writer().Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-caps:
		if got > 64<<10 {
			t.Errorf("reader buffer grew to %d bytes for 20 received", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the partial request was not timed out")
	}
	stdExpectEOF(t, c)

	// A real 4 MB message still arrives whole, with a buffer of its order.
	c2 := dialStd(t, s.addr)
	big := make([]byte, 4+4<<20)
	binary.BigEndian.PutUint32(big, 4<<20)
	if _, err := c2.Writer().WriteBinary(big); err != nil {
		t.Fatal(err)
	}
	if err := c2.Writer().Flush(); err != nil {
		t.Fatal(err)
	}
	if got := <-caps; got < 4<<20 || got > 16<<20 {
		t.Errorf("buffer for a 4 MB message: %d bytes", got)
	}
	if b, err := c2.Reader().Next(8); err != nil || binary.BigEndian.Uint32(b) != 4<<20 {
		t.Fatalf("reply %x, %v", b, err)
	}
}

// TestStdSlowlorisClosed: ReadTimeout bounds a whole request, from its
// first byte, not each read: a peer that sends one byte of a request
// every 50 ms is cut off after ReadTimeout, though no single read waits
// that long.
func TestStdSlowlorisClosed(t *testing.T) {
	stdLeakCheck(t)
	const readTimeout = 400 * time.Millisecond
	readErr := make(chan error, 1)
	s := startStd(t, engine.ServerParams{
		Handler: &stdHandler{request: func(_ context.Context, c engine.Conn) error {
			r := c.Reader()
			hdr, err := r.Next(4)
			if err == nil {
				_, err = r.Next(int(binary.BigEndian.Uint32(hdr)))
			}
			readErr <- err
			return err
		}},
		ReadTimeout: readTimeout,
		IdleTimeout: 10 * time.Second,
	})
	c := dialStd(t, s.addr)
	msg := make([]byte, 4+100)
	binary.BigEndian.PutUint32(msg, 100)
	start := time.Now()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range msg {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := c.Writer().WriteBinary(msg[i : i+1]); err != nil {
				return
			}
			if err := c.Writer().Flush(); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()
	select {
	case err := <-readErr:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("handler read error %v, want a timeout", err)
		}
		// 104 bytes at one per 50 ms would take 5.2 s.
		if el := time.Since(start); el > readTimeout+2*time.Second {
			t.Errorf("cut off after %v, want about %v", el, readTimeout)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a trickling request was never cut off")
	}
}

// TestStdWriterKeepsBigSlices checks the vectored path of a TCP
// connection: big slices given to WriteBinary are kept until Flush (not
// copied), interleaved with copied and Malloc'd bytes in order, across
// flushes.
func TestStdWriterKeepsBigSlices(t *testing.T) {
	stdLeakCheck(t)
	c, peer := stdPair(t)
	defer c.Close()
	w := c.Writer()
	for round := range 3 {
		var want []byte
		small, err := w.Malloc(3)
		if err != nil {
			t.Fatal(err)
		}
		copy(small, "abc")
		want = append(want, "abc"...)
		big1 := bytes.Repeat([]byte{byte(round)}, 8<<10)
		if _, err := w.WriteBinary(big1); err != nil {
			t.Fatal(err)
		}
		more, err := w.Malloc(5)
		if err != nil {
			t.Fatal(err)
		}
		copy(more, "defgh")
		if _, err := w.WriteBinary([]byte("ij")); err != nil {
			t.Fatal(err)
		}
		big2 := bytes.Repeat([]byte{0xa0 + byte(round)}, 20<<10)
		if _, err := w.WriteBinary(big2); err != nil {
			t.Fatal(err)
		}
		// Past the buffer's capacity: it grows with bytes already listed
		// for the vector before the tail.
		tail, err := w.Malloc(64 << 10)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tail {
			tail[i] = byte(i)
		}
		// Kept, not copied: a change before Flush is what goes out.
		big1[0] = 0xff
		want = append(want, big1...)
		want = append(want, "defghij"...)
		want = append(want, big2...)
		want = append(want, tail...)
		if w.MallocLen() != len(want) {
			t.Fatalf("round %d: MallocLen = %d, want %d", round, w.MallocLen(), len(want))
		}
		if b := flushRead(t, w, peer, len(want)); !bytes.Equal(b, want) {
			t.Fatalf("round %d: peer read other bytes than written", round)
		}
		if w.MallocLen() != 0 {
			t.Fatalf("round %d: MallocLen after Flush = %d", round, w.MallocLen())
		}
	}
}

// flushRead flushes w and returns the n bytes peer then reads.
func flushRead(t *testing.T, w interface{ Flush() error }, peer io.Reader, n int) []byte {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, n)
		_, _ = io.ReadFull(peer, b)
		got <- b
	}()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return <-got
}
