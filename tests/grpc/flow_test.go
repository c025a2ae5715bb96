package grpcinterop_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// heapInUse returns the live heap after two full collections: the first
// moves sync.Pool caches to their victim caches and the second frees them,
// so free buffers kept for reuse (Netpoll's read buffers, among others) do
// not count as data the stream queued. On the Netpoll engine, bytes
// received and not yet read also sit in the engine's buffers on the heap,
// where the std engine leaves them in the kernel.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// recvFunc receives the next message of a server stream.
type recvFunc func() (*testpb.StreamingOutputCallResponse, error)

// TestFlowControlSlowReader streams 64 MiB (1024 messages of 64 KiB) to a
// client that reads slowly, on one connection in this process, and checks
// that the live heap of both sides together stays bounded: the sender must
// wait for window updates instead of queueing the stream in memory. It
// runs Skiff to Skiff, and with grpc-go on either side.
func TestFlowControlSlowReader(t *testing.T) {
	const (
		msgSize = 64 << 10
		msgs    = 1024
		bound   = 24 << 20 // well under the 64 MiB a sender without flow control would queue
	)
	params := make([]*testpb.ResponseParameters, msgs)
	for i := range params {
		params[i] = &testpb.ResponseParameters{Size: msgSize}
	}
	req := &testpb.StreamingOutputCallRequest{ResponseType: testpb.PayloadType_COMPRESSABLE, ResponseParameters: params}
	skiffClient := func(t *testing.T, ctx context.Context, addr string) (recvFunc, error) {
		s, err := grpcinterop.NewClient(dialSkiff(t, grpcinterop.TestServiceInfo(), addr, nil)).StreamingOutputCall(ctx, req)
		if err != nil {
			return nil, err
		}
		return s.Recv, nil
	}
	grpcGoClient := func(t *testing.T, ctx context.Context, addr string) (recvFunc, error) {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { _ = cc.Close() })
		s, err := testgrpc.NewTestServiceClient(cc).StreamingOutputCall(ctx, req)
		if err != nil {
			return nil, err
		}
		return s.Recv, nil
	}
	for _, tc := range []struct {
		name   string
		server func(*testing.T) string
		client func(*testing.T, context.Context, string) (recvFunc, error)
	}{
		{"skiff-to-skiff", func(t *testing.T) string { return startSkiff(t, nil) }, skiffClient},
		{"skiff-to-grpc-go", func(t *testing.T) string { return startSkiff(t, nil) }, grpcGoClient},
		{"grpc-go-to-skiff", func(t *testing.T) string { return startGRPCGo(t, nil) }, skiffClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			addr := tc.server(t)
			base := heapInUse()
			recv, err := tc.client(t, ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			var peak uint64
			total := 0
			for i := 0; ; i++ {
				res, err := recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("recv %d: %v", i, err)
				}
				total += len(res.GetPayload().GetBody())
				if i%8 == 0 {
					time.Sleep(5 * time.Millisecond) // the slow reader: about 0.7 s in all
				}
				if i%64 == 63 {
					if h := heapInUse(); h > base && h-base > peak {
						peak = h - base
					}
				}
			}
			if total != msgs*msgSize {
				t.Fatalf("received %d bytes, want %d", total, msgs*msgSize)
			}
			t.Logf("64 MiB stream: peak live heap growth %.1f MiB (bound %d MiB)", float64(peak)/(1<<20), bound>>20)
			if peak > bound {
				t.Fatalf("live heap grew by %d bytes while streaming, bound %d", peak, bound)
			}
		})
	}
}

// wrapHandler returns svc with the handler of method wrapped by wrap.
func wrapHandler(svc *service.Info, method string, wrap func(service.Handler) service.Handler) *service.Info {
	m := *svc.Methods[method]
	m.Handler = wrap(m.Handler)
	svc.Methods[method] = &m
	return svc
}

// TestConcurrentStreamsOneConnection opens 100 FullDuplexCall streams from
// one client (one HTTP/2 connection), holds them all open at once, and
// runs ping-pongs on each: every stream makes progress, and the server
// saw one connection.
func TestConcurrentStreamsOneConnection(t *testing.T) {
	const streams, rounds = 100, 10
	var (
		mu      sync.Mutex
		remotes = map[string]bool{}
	)
	svc := wrapHandler(grpcinterop.TestServiceInfo(), "FullDuplexCall", func(h service.Handler) service.Handler {
		return func(ctx context.Context, impl, args, result any) error {
			if ci := callinfo.From(ctx); ci != nil && ci.RemoteAddr != nil {
				mu.Lock()
				remotes[ci.RemoteAddr.String()] = true
				mu.Unlock()
			}
			return h(ctx, impl, args, result)
		}
	})
	addr := startSkiffWith(t, nil, func(s *server.Server) error {
		return s.RegisterService(svc, grpcinterop.NewTestServer())
	})
	tc := grpcinterop.NewClient(dialSkiff(t, grpcinterop.TestServiceInfo(), addr, nil))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := &testpb.StreamingOutputCallRequest{
		ResponseType:       testpb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*testpb.ResponseParameters{{Size: 1024}},
		Payload:            &testpb.Payload{Body: make([]byte, 1024)},
	}
	var (
		opened  sync.WaitGroup // every stream has its first answer
		wg      sync.WaitGroup
		errs    = make(chan error, streams)
		allOpen = make(chan struct{})
	)
	opened.Add(streams)
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			done := func() {
				if first {
					first = false
					opened.Done()
				}
			}
			defer done()
			err := func() error {
				s, err := tc.FullDuplexCall(ctx)
				if err != nil {
					return err
				}
				for r := range rounds {
					if err := s.Send(req); err != nil {
						return fmt.Errorf("round %d send: %w", r, err)
					}
					res, err := s.Recv()
					if err != nil {
						return fmt.Errorf("round %d recv: %w", r, err)
					}
					if len(res.GetPayload().GetBody()) != 1024 {
						return fmt.Errorf("round %d: %d bytes", r, len(res.GetPayload().GetBody()))
					}
					if r == 0 {
						done()
						select {
						case <-allOpen:
						case <-ctx.Done():
							return fmt.Errorf("not every stream opened: %w", ctx.Err())
						}
					}
				}
				if err := s.CloseSend(); err != nil {
					return err
				}
				if _, err := s.Recv(); err != io.EOF {
					return fmt.Errorf("last recv: %v, want io.EOF", err)
				}
				return nil
			}()
			if err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
			}
		}()
	}
	opened.Wait()
	close(allOpen)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(remotes) != 1 {
		t.Errorf("server saw %d client connections, want 1: %v", len(remotes), remotes)
	}
}

// TestCancelFreesResources opens 50 streams, gets one answer on each,
// cancels them, and checks that every server handler returns, that the
// client sees Canceled, and that the goroutines of the streams end on
// both sides while the connection stays up and keeps serving.
func TestCancelFreesResources(t *testing.T) {
	const streams = 50
	var active atomic.Int64
	svc := wrapHandler(grpcinterop.TestServiceInfo(), "FullDuplexCall", func(h service.Handler) service.Handler {
		return func(ctx context.Context, impl, args, result any) error {
			active.Add(1)
			defer active.Add(-1)
			return h(ctx, impl, args, result)
		}
	})
	func() {
		addr := startSkiffWith(t, nil, func(s *server.Server) error {
			return s.RegisterService(svc, grpcinterop.NewTestServer())
		})
		cli := dialSkiff(t, grpcinterop.TestServiceInfo(), addr, nil)
		tc := grpcinterop.NewClient(cli)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := tc.EmptyCall(ctx, &testpb.Empty{}); err != nil { // the connection is up
			t.Fatal(err)
		}
		base := runtime.NumGoroutine()
		req := &testpb.StreamingOutputCallRequest{
			ResponseType:       testpb.PayloadType_COMPRESSABLE,
			ResponseParameters: []*testpb.ResponseParameters{{Size: 1}},
		}
		var ss []*grpcStream
		for i := range streams {
			sctx, scancel := context.WithCancel(ctx)
			s, err := tc.FullDuplexCall(sctx)
			if err != nil {
				scancel()
				t.Fatalf("stream %d: %v", i, err)
			}
			if err := s.Send(req); err != nil {
				scancel()
				t.Fatalf("stream %d send: %v", i, err)
			}
			if _, err := s.Recv(); err != nil {
				scancel()
				t.Fatalf("stream %d recv: %v", i, err)
			}
			ss = append(ss, &grpcStream{s, scancel})
		}
		if n := active.Load(); n != streams {
			t.Fatalf("%d handlers running, want %d", n, streams)
		}
		t.Logf("goroutines: %d before the streams, %d with %d open", base, runtime.NumGoroutine(), streams)
		for _, s := range ss {
			s.cancel()
		}
		for i, s := range ss {
			_, err := s.s.Recv()
			if !errors.Is(err, status.ErrCanceled) && status.CodeOf(err) != status.Canceled {
				t.Errorf("stream %d after cancel: %v, want Canceled", i, err)
			}
		}
		waitFor(t, 5*time.Second, "every handler returns", func() bool { return active.Load() == 0 })
		// Each open stream holds a goroutine or more; a small slack keeps
		// the engines' pooled workers, which come and go, from failing the
		// test, and TestMain's leak check sees the rest.
		waitFor(t, 5*time.Second, fmt.Sprintf("goroutines back to %d (+2)", base), func() bool { return runtime.NumGoroutine() <= base+2 })
		if _, err := tc.EmptyCall(ctx, &testpb.Empty{}); err != nil { // the connection still serves
			t.Fatalf("call after cancels: %v", err)
		}
	}()
}

// grpcStream is an open FullDuplexCall and the cancel of its context.
type grpcStream struct {
	s interface {
		Recv() (*testpb.StreamingOutputCallResponse, error)
	}
	cancel context.CancelFunc
}

// waitFor polls cond until it holds or d passes, then fails t.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: not true: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
