package h2transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// TestManyConcurrentStreams runs 200 streams at once on one connection
// (more than the server's limit of 100, so some wait for a slot).
func TestManyConcurrentStreams(t *testing.T) {
	srv := startServer(t, echoHandler, serverConfig{opts: []h2transport.Option{h2transport.WithMaxConcurrentStreams(100)}})
	cc := dial(t, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var done atomic.Int32
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.Repeat([]byte{byte(i)}, 1+(i%10)*10000)
			out, _, tr, err := call(ctx, cc, "/many", body)
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(out, body) || tr.Get("x-status") != "ok" {
				t.Errorf("stream %d: bad echo", i)
				return
			}
			done.Add(1)
		}()
	}
	wg.Wait()
	if done.Load() != 200 {
		t.Fatalf("%d of 200 streams completed", done.Load())
	}
	if n := cc.Streams(); n != 0 {
		t.Fatalf("Streams() = %d", n)
	}
}

// TestSlowReaderBoundedMemory streams 64 MiB to a reader that keeps up
// slowly; flow control keeps the memory of both sides bounded.
func TestSlowReaderBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB transfer")
	}
	const total = 64 << 20
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 2048) // 32 KiB
	srv := startServer(t, func(s stream.RawServerStream) {
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := s.Write(chunk); err != nil {
				s.Reset(stream.CodeInternal)
				return
			}
		}
		_ = s.Close(stream.Header{{Name: "x-sent", Value: "all"}})
	}, serverConfig{})
	cc := dial(t, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/big"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	// Live heap (after GC) is what the stream holds; garbage is not. The
	// growth is the largest rise of a sample over the smallest one before
	// it (what earlier tests left behind only falls).
	var ms runtime.MemStats
	var peak, rise uint64
	base := uint64(math.MaxUint64)
	buf := make([]byte, 64<<10)
	got := 0
	for reads := 0; ; reads++ {
		n, err := cs.Read(buf)
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if reads%4 == 0 {
			time.Sleep(time.Millisecond) // a slow reader: about 256 KiB/ms
		}
		if reads%64 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			base = min(base, ms.HeapAlloc)
			rise = max(rise, ms.HeapAlloc-base)
		}
	}
	if got != total {
		t.Fatalf("read %d bytes, want %d", got, total)
	}
	if cs.Trailer().Get("x-sent") != "all" {
		t.Fatalf("trailer %v", cs.Trailer())
	}
	t.Logf("live heap during a 64 MiB stream: min %d KiB, max %d KiB, largest rise %d KiB", base>>10, peak>>10, rise>>10)
	if rise > 16<<20 {
		t.Fatalf("heap rose by %d MiB while streaming 64 MiB", rise>>20)
	}
}

// TestCancelFreesStream cancels a client stream: the server handler sees
// its context done, the stream slots are freed on both sides and no
// goroutine is left (TestMain checks with leaktest).
func TestCancelFreesStream(t *testing.T) {
	started := make(chan struct{}, 1)
	handlerDone := make(chan error, 1)
	srv := startServer(t, func(s stream.RawServerStream) {
		if s.Header().Get(":path") != "/cancel" {
			echoHandler(s)
			return
		}
		started <- struct{}{}
		_, err := io.ReadAll(s) // blocks until the client resets
		<-s.Context().Done()
		handlerDone <- err
	}, serverConfig{})
	cc := dial(t, srv.addr)
	ctx, cancel := context.WithCancel(context.Background())
	cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/cancel"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	if err := cs.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("handler not started")
	}
	cancel()
	select {
	case err := <-handlerDone:
		if status.CodeOf(err) != status.Canceled {
			t.Fatalf("handler read error %v, want canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler not told about the reset")
	}
	if _, err := cs.Read(make([]byte, 10)); !errors.Is(err, status.ErrCanceled) {
		t.Fatalf("client read after cancel: %v", err)
	}
	if n := cc.Streams(); n != 0 {
		t.Fatalf("client Streams() = %d", n)
	}
	// The connection still works.
	if out, _, _, err := call(context.Background(), cc, "/after", []byte("x")); err != nil || string(out) != "x" {
		t.Fatalf("call after cancel: %q, %v", out, err)
	}
}

// TestDeadline ends a stream when its context deadline passes.
func TestDeadline(t *testing.T) {
	srv := startServer(t, func(s stream.RawServerStream) {
		<-s.Context().Done()
		s.Reset(stream.CodeCancel)
	}, serverConfig{})
	cc := dial(t, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/slow"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Header(); !errors.Is(err, status.ErrTimeout) {
		t.Fatalf("Header() error %v, want timeout", err)
	}
}

// TestGracefulShutdown shuts a server connection down while streams are in
// flight: they finish, new streams go elsewhere, then the connection ends.
func TestGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	srv := startServer(t, func(s stream.RawServerStream) {
		if s.Header().Get(":path") == "/wait" {
			<-release
		}
		echoHandler(s)
	}, serverConfig{})
	cc := dial(t, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const inflight = 10
	results := make(chan error, inflight)
	for range inflight {
		go func() {
			out, _, _, err := call(ctx, cc, "/wait", []byte("in flight"))
			if err == nil && string(out) != "in flight" {
				err = io.ErrUnexpectedEOF
			}
			results <- err
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for cc.Streams() < inflight && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the server see all of them
	shut := make(chan error, 1)
	go func() { shut <- srv.shutdownConns(ctx) }()
	// The client learns about GOAWAY: no new streams on this connection.
	for cc.Available() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if cc.Available() {
		t.Fatal("client connection still available after GOAWAY")
	}
	if _, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/new"}}); !errors.Is(err, status.ErrUnsent) {
		t.Fatalf("NewStream after GOAWAY: %v, want ErrUnsent", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v before in-flight streams ended", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	for range inflight {
		if err := <-results; err != nil {
			t.Fatalf("in-flight stream: %v", err)
		}
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestShutdownUnderLoad shuts a connection down while a client keeps
// opening streams on it: every stream the client opened completes (the
// two-step GOAWAY refuses none); new ones fail with ErrUnsent.
func TestShutdownUnderLoad(t *testing.T) {
	srv := startServer(t, echoHandler, serverConfig{})
	cc := dial(t, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var served, refusedAtOpen atomic.Int32
	stop := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, _, _, err := call(ctx, cc, "/load", []byte("payload"))
				switch {
				case err == nil && string(out) == "payload":
					served.Add(1)
				case errors.Is(err, status.ErrUnsent):
					refusedAtOpen.Add(1)
					return
				default:
					t.Errorf("call during shutdown: %q, %v", out, err)
					return
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	if err := srv.shutdownConns(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d calls served, %d callers stopped by GOAWAY at NewStream", served.Load(), refusedAtOpen.Load())
	if served.Load() == 0 {
		t.Fatal("no call served")
	}
}

// TestShutdownBeforeServe: Shutdown called before Serve reads anything
// (a server that is stopping) still sends SETTINGS first, then GOAWAY.
func TestShutdownBeforeServe(t *testing.T) {
	cli, srvSide := net.Pipe()
	sc, err := h2transport.New().NewServerConn(engine.NewStdConn(srvSide), stream.ServerConnParams{Handler: echoHandler})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- sc.Shutdown(ctx) }()
	served := make(chan error, 1)
	go func() { served <- sc.Serve() }()
	go func() {
		_, _ = cli.Write([]byte(http2.ClientPreface))
		_, _ = cli.Write([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	}()
	fr := http2.NewFramer(cli, cli)
	_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
	var types []http2.FrameType
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			break
		}
		types = append(types, f.Header().Type)
		if p, ok := f.(*http2.PingFrame); ok && !p.IsAck() {
			_ = fr.WritePing(true, p.Data)
		}
	}
	if len(types) == 0 || types[0] != http2.FrameSettings {
		t.Fatalf("frames %v, want SETTINGS first", types)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	_ = cli.Close()
}
