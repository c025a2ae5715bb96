package robust_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

type hop struct {
	fn func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error)
}

func (h hop) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return h.fn(ctx, req)
}
func (hop) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) { return nil, nil }
func (hop) Notify(context.Context, string) error                           { return nil }

var quiet = slog.New(slog.DiscardHandler)

func start(t *testing.T, h echo.EchoService, opts ...server.Option) *server.Server {
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, opts...)...)
	if err := svr.RegisterService(echo.ServiceInfo(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	return svr
}

func dial(t *testing.T, addr string, opts ...client.Option) *echo.Client {
	cli, err := client.New(echo.ServiceInfo(), append([]client.Option{client.WithHostPorts(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return echo.NewClient(cli)
}

// panicProto is TTHeader whose WriteMessage panics on a reply to "boom":
// a faulty codec or transport.
type panicProto struct{ transport.Protocol }

func (p panicProto) WriteMessage(w transport.Writer, msg *codec.Message, c codec.Codec) error {
	if msg.Type == codec.Reply {
		if r, ok := msg.Payload.(*echo.EchoServiceEchoResult); ok && r.Success != nil && r.Success.Message == "boom" {
			panic("faulty encoder")
		}
	}
	return p.Protocol.WriteMessage(w, msg, c)
}

func echoBack(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message}, nil
}

// TestInlineEncodePanic: a transport that panics while writing a reply on
// the reading goroutine costs that connection only; the write lock is not
// left held, so the connection closes and Stop returns within its exit
// wait, on both engines.
func TestInlineEncodePanic(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Std, engine.Netpoll} {
		t.Run(eng.Name(), func(t *testing.T) {
			svr := start(t, hop{echoBack}, server.WithEngine(eng), server.WithTransports(panicProto{ttheader.TTHeader}),
				server.WithExitWaitTime(300*time.Millisecond))
			stub := dial(t, svr.Addr().String(), client.WithTransport(ttheader.TTHeader),
				client.WithLongConnection(client.PoolConfig{}), client.WithRPCTimeout(time.Second))
			if _, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "ok"}); err != nil {
				t.Fatal(err)
			}
			if _, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "boom"}); err == nil {
				t.Error("the call whose reply could not be written succeeded")
			}
			done := make(chan error, 1)
			go func() { done <- svr.Stop() }()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, server.ErrForcedStop) {
					t.Errorf("Stop: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Stop still blocked after 5 s (exit wait 300 ms)")
			}
		})
	}
}

// TestWorkerEncodePanic: a transport that panics while a worker writes an
// out-of-order reply closes that connection only: the process lives on,
// the call fails, and the server serves the next connection.
func TestWorkerEncodePanic(t *testing.T) {
	svr := start(t, hop{echoBack}, server.WithTransports(panicProto{ttheader.TTHeader}), server.WithExitWaitTime(100*time.Millisecond))
	defer svr.Stop()
	stub := dial(t, svr.Addr().String(), client.WithTransport(ttheader.TTHeader), client.WithMultiplex(1), client.WithRPCTimeout(time.Second))
	if _, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "boom"}); err == nil {
		t.Error("the call whose reply could not be written succeeded")
	}
	again := dial(t, svr.Addr().String(), client.WithTransport(ttheader.TTHeader), client.WithMultiplex(1), client.WithRPCTimeout(time.Second))
	if _, err := again.Echo(context.Background(), &echo.EchoRequest{Message: "ok"}); err != nil {
		t.Errorf("after a worker's panic: %v", err)
	}
}

// TestStopWithWorkerRunning: an out-of-order call still running at the
// exit wait makes Stop report ErrForcedStop.
func TestStopWithWorkerRunning(t *testing.T) {
	var running atomic.Int32
	release := make(chan struct{})
	h := hop{func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
		if req.Message == "slow" {
			running.Add(1)
			defer running.Add(-1)
			<-release
		}
		return &echo.EchoResponse{Message: req.Message}, nil
	}}
	svr := start(t, h, server.WithExitWaitTime(300*time.Millisecond))
	defer close(release)
	stub := dial(t, svr.Addr().String(), client.WithTransport(ttheader.TTHeader), client.WithRPCTimeout(10*time.Second))
	if _, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "warm"}); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "slow"})
		res <- err
	}()
	for running.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	t0 := time.Now()
	err := svr.Stop()
	t.Logf("Stop took %v, returned %v; handlers still running: %d", time.Since(t0), err, running.Load())
	if !errors.Is(err, server.ErrForcedStop) {
		t.Errorf("Stop returned %v, want ErrForcedStop", err)
	}
	t.Logf("slow call: %v", <-res)
}

// TestStopOneExitWait: with one out-of-order call and one in-order
// (Framed) call both stuck, Stop takes one exit wait (plus the streams'
// grace), not one per kind, and reports the forced stop.
func TestStopOneExitWait(t *testing.T) {
	release := make(chan struct{})
	var running atomic.Int32
	h := hop{func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
		if req.Message == "slow" {
			running.Add(1)
			select {
			case <-release:
			case <-time.After(3 * time.Second):
			}
		}
		return &echo.EchoResponse{Message: req.Message}, nil
	}}
	svr := start(t, h, server.WithExitWaitTime(500*time.Millisecond))
	defer close(release)
	mux := dial(t, svr.Addr().String(), client.WithTransport(ttheader.TTHeader), client.WithRPCTimeout(10*time.Second))
	framed := dial(t, svr.Addr().String(), client.WithTransport(transport.Framed), client.WithRPCTimeout(10*time.Second))
	if _, err := mux.Echo(context.Background(), &echo.EchoRequest{Message: "warm"}); err != nil {
		t.Fatal(err)
	}
	go mux.Echo(context.Background(), &echo.EchoRequest{Message: "slow"})
	go framed.Echo(context.Background(), &echo.EchoRequest{Message: "slow"})
	for running.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	t0 := time.Now()
	err := svr.Stop()
	el := time.Since(t0)
	t.Logf("Stop took %v (exit wait 500ms), returned %v", el, err)
	if el > 500*time.Millisecond+400*time.Millisecond {
		t.Errorf("Stop took %v with a 500 ms exit wait", el)
	}
	if !errors.Is(err, server.ErrForcedStop) {
		t.Errorf("Stop returned %v, want ErrForcedStop", err)
	}
}

// TestListenerFdNotClosedTwice: while Stop waits for an out-of-order call,
// files the process opens keep their descriptors (Stop stops accepting
// without closing the listener's descriptor, which Netpoll closes later).
func TestListenerFdNotClosedTwice(t *testing.T) {
	release := make(chan struct{})
	var running atomic.Int32
	h := hop{func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
		if req.Message == "slow" {
			running.Add(1)
			<-release
		}
		return &echo.EchoResponse{Message: req.Message}, nil
	}}
	svr := start(t, h, server.WithExitWaitTime(5*time.Second))
	stub := dial(t, svr.Addr().String(), client.WithTransport(ttheader.TTHeader), client.WithRPCTimeout(10*time.Second))
	if _, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "warm"}); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "slow"})
		res <- err
	}()
	for running.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- svr.Stop() }()
	time.Sleep(200 * time.Millisecond) // Stop stopped accepting and awaits the worker
	// The process opens files meanwhile (a handler, a log, a dial...).
	var files []*os.File
	for i := 0; i < 8; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, r, w)
	}
	close(release)
	if err := <-res; err != nil {
		t.Errorf("the call Stop waited for: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
	for i := 1; i < len(files); i += 2 {
		if _, err := files[i].Write([]byte("x")); err != nil {
			t.Errorf("pipe fd %d: %v", files[i].Fd(), err)
		}
	}
}
