package ttheader_test

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/stream"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

const msgSize = 64 << 10

// sendN is a handler that sends total bytes in messages of msgSize (one
// data frame each) and closes the stream; sent counts what it wrote.
func sendN(total int, sent *atomic.Int64) func(stream.RawServerStream) {
	return func(s stream.RawServerStream) {
		ms := s.(ttheader.MsgStream)
		msg := make([]byte, msgSize)
		for n := 0; n < total; n += msgSize {
			if err := ms.WriteMsg(msg); err != nil {
				s.Reset(stream.CodeInternal)
				return
			}
			if sent != nil {
				sent.Add(msgSize)
			}
		}
		_ = s.Close(nil)
	}
}

// slowRead reads a whole stream with a pause every message and returns
// the bytes read and the most the client held buffered at any time.
func slowRead(t *testing.T, cs stream.RawClientStream, pause time.Duration, sent *atomic.Int64, lead *int64) (int, int) {
	t.Helper()
	ms := cs.(ttheader.MsgStream)
	read, maxBuf := 0, 0
	for {
		if b := ttheader.Buffered(cs); b > maxBuf {
			maxBuf = b
		}
		if sent != nil {
			if l := sent.Load() - int64(read); l > *lead {
				*lead = l
			}
		}
		m, err := ms.ReadMsg()
		if errors.Is(err, io.EOF) {
			return read, maxBuf
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", read, err)
		}
		read += len(m)
		if pause > 0 && read%(1<<20) == 0 {
			time.Sleep(pause)
		}
	}
}

// heapPeak samples the live heap until stop is closed and returns its
// peak.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				out <- peak
				return
			case <-tk.C:
			}
		}
	}()
	return out
}

// TestFlowControlSlowReader sends 64 MiB on a server stream to a client
// that reads slowly: with flow control, the server never gets more than
// the 1 MiB window (plus one message) ahead of the reader, the client
// never holds more than that, and the heap stays far below 64 MiB. The
// same load with flow control off (Kitex's behaviour) shows the
// difference: the client buffers most of the 64 MiB.
func TestFlowControlSlowReader(t *testing.T) {
	const total = 64 << 20
	for _, tc := range []struct {
		name   string
		window int
		pause  time.Duration // per MiB read
	}{{"on", ttheader.DefaultStreamWindow, 15 * time.Millisecond}, {"off", 0, 40 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			p := ttheader.NewStreamProtocol(ttheader.WithStreamWindow(tc.window))
			var sent atomic.Int64
			srv := startTT(t, p, sendN(total, &sent))
			cc := dialTT(t, p, srv.addr)
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			stop := make(chan struct{})
			peakc := heapPeak(stop)
			cs, err := cc.NewStream(context.Background(), stream.Header{{Name: ":path", Value: "/S/Down"}})
			if err != nil {
				t.Fatal(err)
			}
			_ = cs.CloseSend()
			var lead int64
			read, maxBuf := slowRead(t, cs, tc.pause, &sent, &lead)
			close(stop)
			peak := <-peakc
			growth := int64(peak) - int64(base.HeapAlloc)
			t.Logf("flow control %s: read %d MiB, client buffered at most %d KiB, server ahead at most %d KiB, heap growth %d MiB",
				tc.name, read>>20, maxBuf>>10, lead>>10, growth>>20)
			if read != total {
				t.Fatalf("read %d bytes, want %d", read, total)
			}
			bound := int64(tc.window + 2*msgSize)
			if tc.window > 0 {
				if int64(maxBuf) > bound || lead > bound {
					t.Fatalf("buffered %d, lead %d: over the window bound %d", maxBuf, lead, bound)
				}
				if growth > 24<<20 {
					t.Fatalf("heap grew by %d MiB for a 1 MiB window", growth>>20)
				}
			} else if maxBuf < 8<<20 {
				t.Fatalf("without flow control the client buffered only %d KiB; the test does not load it", maxBuf>>10)
			}
		})
	}
}

// TestFlowControlManyStreams runs 100 server streams of 512 KiB each on
// one connection with a 64 KiB window while one more stream is never
// read: every other stream completes (no head-of-line blocking), and the
// stalled stream holds no more than its window.
func TestFlowControlManyStreams(t *testing.T) {
	const per = 512 << 10
	p := ttheader.NewStreamProtocol(ttheader.WithStreamWindow(msgSize))
	srv := startTT(t, p, sendN(per, nil))
	cc := dialTT(t, p, srv.addr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stalled, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/S/Stalled"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = stalled.CloseSend()

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	start := time.Now()
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs, err := cc.NewStream(context.Background(), stream.Header{{Name: ":path", Value: "/S/Down"}})
			if err != nil {
				errs <- err
				return
			}
			_ = cs.CloseSend()
			ms := cs.(ttheader.MsgStream)
			n := 0
			for {
				m, err := ms.ReadMsg()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					errs <- err
					return
				}
				n += len(m)
			}
			if n != per {
				errs <- errors.New("short stream")
			}
			_ = i
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("100 streams x %d KiB with a %d KiB window in %v", per>>10, msgSize>>10, time.Since(start).Round(time.Millisecond))
	if b := ttheader.Buffered(stalled); b > 2*msgSize {
		t.Fatalf("the unread stream holds %d bytes, over its window", b)
	}
	if n := cc.Streams(); n != 1 {
		t.Fatalf("Streams = %d, want 1 (the stalled one)", n)
	}
}

// TestCancelFreesEverything opens 50 streams whose handlers are blocked
// on flow control, cancels them, and checks that every handler returns
// with an error, both sides forget every stream, and no goroutine is
// left.
func TestCancelFreesEverything(t *testing.T) {
	// Runs last (cleanups run in reverse): after the server and the
	// connections are gone, no goroutine of theirs is left.
	t.Cleanup(func() { leaktest.VerifyNone(t) })
	p := ttheader.NewStreamProtocol(ttheader.WithStreamWindow(msgSize))
	var handlerErrs atomic.Int64
	var running sync.WaitGroup
	srv := startTT(t, p, func(s stream.RawServerStream) {
		defer running.Done()
		ms := s.(ttheader.MsgStream)
		msg := make([]byte, msgSize)
		for {
			if err := ms.WriteMsg(msg); err != nil {
				handlerErrs.Add(1)
				if s.Context().Err() == nil {
					t.Error("handler's write failed but its context is not done")
				}
				return
			}
		}
	})
	cc := dialTT(t, p, srv.addr)
	ctx, cancel := context.WithCancel(context.Background())
	var streams []stream.RawClientStream
	running.Add(50)
	for range 50 {
		cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/S/Forever"}})
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, cs)
	}
	// Each stream gets some data, so every handler is running and blocked.
	for _, cs := range streams {
		if _, err := cs.(ttheader.MsgStream).ReadMsg(); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	waitDone := make(chan struct{})
	go func() { running.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(10 * time.Second):
		t.Fatal("handlers still running 10s after cancel")
	}
	if n := handlerErrs.Load(); n != 50 {
		t.Fatalf("%d handlers saw an error, want 50", n)
	}
	for _, cs := range streams {
		if _, err := cs.Read(make([]byte, 1)); err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("read after cancel: %v", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for cc.Streams() != 0 || serverStreams(srv) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("streams left: client %d, server %d", cc.Streams(), serverStreams(srv))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The connection still serves.
	cs, err := cc.NewStream(context.Background(), stream.Header{{Name: ":path", Value: "/S/Forever"}})
	if err != nil {
		t.Fatal(err)
	}
	running.Add(1)
	if _, err := cs.(ttheader.MsgStream).ReadMsg(); err != nil {
		t.Fatal(err)
	}
	cs.Reset(stream.CodeCancel)
	running.Wait()
}

func serverStreams(s *ttServer) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.conns {
		n += ttheader.ServerStreams(c)
	}
	return n
}

// TestBadFrameClosesOnlyItsConnection sends garbage on one connection
// while another carries a stream: the bad one is closed, the other keeps
// working.
func TestBadFrameClosesOnlyItsConnection(t *testing.T) {
	p := ttheader.TTStream
	srv := startTT(t, p, func(s stream.RawServerStream) {
		b, _ := io.ReadAll(s)
		_, _ = s.Write(b)
		_ = s.Close(nil)
	})
	cc := dialTT(t, p, srv.addr)
	cs, err := cc.NewStream(context.Background(), stream.Header{{Name: ":path", Value: "/S/Echo"}})
	if err != nil {
		t.Fatal(err)
	}
	// A raw connection: a valid first frame, then one with an unknown
	// frame type.
	bad, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	hdr, _ := ttheader.AppendFrame(nil, &ttheader.Frame{Type: ttheader.FrameMeta})
	garbage := append([]byte(nil), hdr...)
	junk, _ := ttheader.AppendFrame(nil, &ttheader.Frame{Type: ttheader.FrameData, StreamID: 5})
	junk[6], junk[7] = 0, 0 // the streaming flag cleared: not a ttstream frame
	if _, err := bad.Write(append(garbage, junk...)); err != nil {
		t.Fatal(err)
	}
	_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := bad.Read(make([]byte, 64)); err == nil {
		t.Fatalf("the bad connection stayed open (read %d bytes)", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the bad connection was not closed within 5s")
	}
	if _, err := cs.Write([]byte("still here")); err != nil {
		t.Fatal(err)
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(cs)
	if err != nil || string(got) != "still here" {
		t.Fatalf("echo on the good connection: %q, %v", got, err)
	}
}

// TestFlowControlUpload sends 16 MiB from a client to a handler that reads
// slowly, on a connection whose flow-control handshake is done: the client
// keeps to the server's window, so the server never holds more than the
// window and one message.
func TestFlowControlUpload(t *testing.T) {
	const total = 16 << 20
	const window = 256 << 10
	p := ttheader.NewStreamProtocol(ttheader.WithStreamWindow(window))
	maxBuf := make(chan int, 1)
	srv := startTT(t, p, func(s stream.RawServerStream) {
		ms := s.(ttheader.MsgStream)
		most, n := 0, 0
		for {
			if b := ttheader.Buffered(s); b > most {
				most = b
			}
			m, err := ms.ReadMsg()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				s.Reset(stream.CodeInternal)
				return
			}
			n += len(m)
			if n%(1<<20) == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		maxBuf <- most
		_ = s.Close(stream.Header{{Name: "n", Value: strconv.Itoa(n)}})
	})
	cc := dialTT(t, p, srv.addr)
	// One empty call first: the server's answer to the connection's
	// preface (its window) arrives within the first round trip; a stream
	// opened before it sends unlimited until then, as toward a Kitex
	// server.
	warm, err := cc.NewStream(context.Background(), stream.Header{{Name: ":path", Value: "/S/Up"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = warm.CloseSend()
	if _, err := io.ReadAll(warm); err != nil {
		t.Fatal(err)
	}
	<-maxBuf
	cs, err := cc.NewStream(context.Background(), stream.Header{{Name: ":path", Value: "/S/Up"}})
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, msgSize)
	for n := 0; n < total; n += msgSize {
		if err := cs.(ttheader.MsgStream).WriteMsg(msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(cs); err != nil {
		t.Fatal(err)
	}
	if got := cs.Trailer().Get("n"); got != strconv.Itoa(total) {
		t.Fatalf("server read %s bytes, want %d", got, total)
	}
	most := <-maxBuf
	t.Logf("16 MiB upload to a slow handler, %d KiB window: the server held at most %d KiB", window>>10, most>>10)
	if most > window+msgSize {
		t.Fatalf("the server held %d bytes, over the window", most)
	}
}

// TestFlowControlOneSided checks the negotiation when only one peer has
// flow control on (as with a Kitex peer): 4 MiB goes each way with a 64
// KiB window on one side and nothing stalls waiting for credit that never
// comes.
func TestFlowControlOneSided(t *testing.T) {
	const total = 4 << 20
	for _, tc := range []struct {
		name           string
		server, client int
	}{{"ServerOff", 0, msgSize}, {"ClientOff", msgSize, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTT(t, ttheader.NewStreamProtocol(ttheader.WithStreamWindow(tc.server)), func(s stream.RawServerStream) {
				ms := s.(ttheader.MsgStream)
				for {
					m, err := ms.ReadMsg()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						s.Reset(stream.CodeInternal)
						return
					}
					if err := ms.WriteMsg(m); err != nil {
						return
					}
				}
				_ = s.Close(nil)
			})
			p := ttheader.NewStreamProtocol(ttheader.WithStreamWindow(tc.client))
			cc := dialTT(t, p, srv.addr)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/S/Echo"}})
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan int, 1)
			go func() {
				n := 0
				for {
					m, err := cs.(ttheader.MsgStream).ReadMsg()
					if err != nil {
						got <- n
						return
					}
					n += len(m)
				}
			}()
			msg := make([]byte, msgSize)
			for n := 0; n < total; n += msgSize {
				if err := cs.(ttheader.MsgStream).WriteMsg(msg); err != nil {
					t.Fatal(err)
				}
			}
			_ = cs.CloseSend()
			if n := <-got; n != total {
				t.Fatalf("echoed %d bytes, want %d", n, total)
			}
		})
	}
}
