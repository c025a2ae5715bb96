package grpccodec_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// lender is a stream.Lender over chunks that arrive one per Lend or Read
// (a unit-test double; h2transport's streams are the real one, exercised
// by the gRPC tests of the tests module).
type lender struct {
	chunks [][]byte
	buf    []byte
	lent   bool
	loans  int
}

func (l *lender) more() bool {
	if len(l.buf) > 0 {
		return true
	}
	if len(l.chunks) == 0 {
		return false
	}
	l.buf, l.chunks = l.chunks[0], l.chunks[1:]
	return true
}

func (l *lender) Lend() ([]byte, error) {
	if l.lent {
		return nil, errors.New("lent twice")
	}
	if !l.more() {
		return nil, io.EOF
	}
	l.lent = true
	l.loans++
	return l.buf[:len(l.buf):len(l.buf)], nil
}

func (l *lender) Consume(n int) {
	if !l.lent {
		panic("Consume without Lend")
	}
	l.lent = false
	l.buf = l.buf[n:]
}

func (l *lender) Read(p []byte) (int, error) {
	if l.lent {
		return 0, errors.New("Read during a loan")
	}
	if !l.more() {
		return 0, io.EOF
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}

// TestFrameReaderLends checks that a message the transport holds whole is
// returned in place (no copy), that one split across arrivals is read by
// copying, and that the errors are those of the copying path.
func TestFrameReaderLends(t *testing.T) {
	m1 := bytes.Repeat([]byte{1}, 300)
	m2 := bytes.Repeat([]byte{2}, 5000)
	m3 := []byte{}
	whole := append(grpccodec.AppendFrame(nil, false, m1), grpccodec.AppendFrame(nil, true, m3)...)
	split := grpccodec.AppendFrame(nil, false, m2)
	l := &lender{chunks: [][]byte{whole, split[:3], split[3:2000], split[2000:]}}
	fr := grpccodec.NewFrameReader(l, 0)

	c, p, err := fr.Next()
	if err != nil || c || !bytes.Equal(p, m1) {
		t.Fatalf("message 1: %v %d bytes %v", c, len(p), err)
	}
	if &p[0] != &whole[5] {
		t.Error("message 1 was copied, want it lent in place")
	}
	c, p, err = fr.Next()
	if err != nil || !c || len(p) != 0 {
		t.Fatalf("message 3 (empty, compressed): %v %d bytes %v", c, len(p), err)
	}
	c, p, err = fr.Next()
	if err != nil || c || !bytes.Equal(p, m2) {
		t.Fatalf("message 2 (split): %v %d bytes %v", c, len(p), err)
	}
	if _, _, err = fr.Next(); err != io.EOF {
		t.Fatalf("after the last message: %v, want io.EOF", err)
	}
	if l.lent {
		t.Fatal("a loan is still open after io.EOF")
	}

	// A bad flag and an oversized message fail as without lending.
	fr = grpccodec.NewFrameReader(&lender{chunks: [][]byte{{7, 0, 0, 0, 1, 'x'}}}, 0)
	if _, _, err := fr.Next(); status.CodeOf(err) != status.Internal {
		t.Fatalf("flag 7: %v, want Internal", err)
	}
	fr = grpccodec.NewFrameReader(&lender{chunks: [][]byte{grpccodec.AppendFrame(nil, false, m2)}}, 100)
	if _, _, err := fr.Next(); status.CodeOf(err) != status.ResourceExhausted {
		t.Fatalf("5000 bytes over a 100-byte bound: %v, want ResourceExhausted", err)
	}
	// Ended inside a message.
	fr = grpccodec.NewFrameReader(&lender{chunks: [][]byte{split[:100]}}, 0)
	if _, _, err := fr.Next(); status.CodeOf(err) != status.Internal {
		t.Fatalf("truncated: %v, want Internal", err)
	}
}

// lendingServerSide makes a server stream a stream.Lender (a unit-test
// double over the mem transport): Lend reads what has arrived into its own
// buffer and lends that; open says whether a loan is out.
type lendingServerSide struct {
	stream.RawServerStream
	buf   []byte
	open  atomic.Bool
	loans atomic.Int32 // loans consumed in part or whole
}

func (l *lendingServerSide) Lend() ([]byte, error) {
	if len(l.buf) == 0 {
		p := make([]byte, 64<<10)
		n, err := l.RawServerStream.Read(p)
		if n == 0 {
			return nil, err
		}
		l.buf = p[:n]
	}
	l.open.Store(true)
	return l.buf, nil
}

func (l *lendingServerSide) Consume(n int) {
	if n > 0 {
		l.loans.Add(1) // a message was decoded in place
	}
	l.buf = l.buf[n:]
	l.open.Store(false)
}

func (l *lendingServerSide) Read(p []byte) (int, error) {
	if len(l.buf) > 0 {
		n := copy(p, l.buf)
		l.buf = l.buf[n:]
		return n, nil
	}
	return l.RawServerStream.Read(p)
}

// handlerDispatcher runs check before each handler.
type handlerDispatcher struct {
	*dispatcher
	check func()
}

func (d handlerDispatcher) Invoke(ctx context.Context, m *stream.Method, args, result any) error {
	d.check()
	return d.dispatcher.Invoke(ctx, m, args, result)
}

// TestServerEndsLoanBeforeHandler: the server decodes a lent request and
// gives the transport its bytes back before the handler runs, so a handler
// that keeps running does not keep the request's flow-control window.
func TestServerEndsLoanBeforeHandler(t *testing.T) {
	var (
		loans     atomic.Int32
		ls        atomic.Pointer[lendingServerSide]
		openAtRun atomic.Int32
		runs      atomic.Int32
	)
	d := handlerDispatcher{dispatcher: echoDispatcher(), check: func() {
		runs.Add(1)
		if l := ls.Load(); l != nil && l.open.Load() {
			openAtRun.Add(1)
		}
	}}
	conn := newMemConn(func(s stream.RawServerStream) {
		l := &lendingServerSide{RawServerStream: s}
		ls.Store(l)
		grpccodec.Default.ServeStream(l, d)
		loans.Add(l.loans.Load())
	})
	defer conn.Close()
	for i := 0; i < 5; i++ {
		got, err := unary(context.Background(), grpccodec.Default, conn, "hello")
		if err != nil || got != "hello" {
			t.Fatalf("call %d: %q, %v", i, got, err)
		}
	}
	conn.Wait()
	if loans.Load() < 5 {
		t.Fatalf("%d requests of 5 decoded in place: the test did not lend", loans.Load())
	}
	if runs.Load() != 5 || openAtRun.Load() != 0 {
		t.Fatalf("%d of %d handlers ran while the request was still lent", openAtRun.Load(), runs.Load())
	}
}
