package callmodel_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/echo"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

const traceKey, traceVal = "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// seen is what a tracer or middleware observed of one call.
type seen struct {
	method     string
	trace      string // the traceparent request key
	reply      string // the x-served-by reply key (client side)
	send, recv int
	err        error
}

// recorder is a tracer that records what it sees at Finish, and whether
// the request key was visible at Start.
type recorder struct {
	mu      sync.Mutex
	calls   []seen
	started atomic.Int32
	withKey atomic.Int32
}

func (r *recorder) Start(ctx context.Context) context.Context {
	r.started.Add(1)
	if v, _ := callinfo.From(ctx).Request.Get(traceKey); v == traceVal {
		r.withKey.Add(1)
	}
	return ctx
}

func (r *recorder) Finish(ctx context.Context) {
	ci := callinfo.From(ctx)
	s := seen{method: ci.Method, send: ci.Stats.SendSize, recv: ci.Stats.RecvSize, err: ci.Stats.Err}
	s.trace, _ = ci.Request.Get(traceKey)
	s.reply, _ = ci.Response.Get("x-served-by")
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) take() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// mwRecorder is a middleware that records the errors it sees; on the
// client it sets the request key first, on the server it reads it and
// sets a reply key.
type mwRecorder struct {
	mu    sync.Mutex
	calls []seen
}

func (m *mwRecorder) middleware(serverSide bool) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			ci := callinfo.From(ctx)
			if serverSide {
				ci.Response.Set("X-Served-By", "skiff")
			} else {
				ci.Request.Set(traceKey, traceVal)
			}
			err := next(ctx, req, resp)
			s := seen{method: ci.Method, err: err}
			s.trace, _ = ci.Request.Get(traceKey)
			if res, ok := resp.(*stream.Result); ok && err == nil {
				// Streams: check each message passes the middleware too.
				res.Stream = &countingStream{ClientStream: res.Stream}
			}
			m.mu.Lock()
			m.calls = append(m.calls, s)
			m.mu.Unlock()
			return err
		}
	}
}

func (m *mwRecorder) take() []seen {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.calls
	m.calls = nil
	return out
}

// countingStream counts the messages a client middleware's wrapper sees.
type countingStream struct {
	stream.ClientStream
}

var wrappedSends, wrappedRecvs atomic.Int32

func (s *countingStream) SendMsg(m any) error {
	wrappedSends.Add(1)
	return s.ClientStream.SendMsg(m)
}

func (s *countingStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		wrappedRecvs.Add(1)
	}
	return err
}

// echoFailer answers Echo and fails Fail with the declared EchoError.
type echoFailer struct{}

func (echoFailer) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message}, nil
}

func (echoFailer) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "declared"}
}

func (echoFailer) Notify(context.Context, string) error { return nil }

// TestPipelineTTHeader: over TTHeader and TTHeader+Framed, a client
// middleware's request key reaches the client tracer and the server
// middleware and tracer; the server's reply key comes back; tracers on
// both sides see sizes equal to the bytes on the wire (counted by a
// proxy); a declared exception reaches middleware and tracers on both
// sides as a KindDeclared error, and the stub still returns it.
func TestPipelineTTHeader(t *testing.T) {
	for _, tr := range []*ttheader.Protocol{ttheader.TTHeader, ttheader.TTHeaderFramed} {
		t.Run(tr.Name(), func(t *testing.T) {
			st, sm := &recorder{}, &mwRecorder{}
			svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
				server.WithTracer(st), server.WithMiddleware(sm.middleware(true)))
			if err := svr.RegisterService(echo.ServiceInfo(), echoFailer{}); err != nil {
				t.Fatal(err)
			}
			if err := svr.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = svr.Stop() })
			p := newProxy(t, svr.Addr().String())
			ct, cm := &recorder{}, &mwRecorder{}
			cli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(p.addr()), client.WithTransport(tr),
				client.WithTracer(ct), client.WithMiddleware(cm.middleware(false)), client.WithLogger(quiet))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cli.Close() })
			ec := echo.NewClient(cli)

			if _, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "hello"}); err != nil {
				t.Fatal(err)
			}
			_ = cli.Close() // the proxy's counts are final once the connection ends
			waitFor(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return len(st.calls) == 1 })
			p.stop()
			checkOneCall(t, "Echo", ct.take(), st.take(), int(p.up.Load()), int(p.down.Load()))
			checkMiddleware(t, cm.take(), sm.take(), nil)

			cli2, err := client.New(echo.ServiceInfo(), client.WithHostPorts(svr.Addr().String()), client.WithTransport(tr),
				client.WithTracer(ct), client.WithMiddleware(cm.middleware(false)), client.WithLogger(quiet))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cli2.Close() })
			_, err = echo.NewClient(cli2).Fail(context.Background(), 7)
			var ee *echo.EchoError
			if !errors.As(err, &ee) || ee.Code != 7 {
				t.Fatalf("Fail: %v, want the declared EchoError", err)
			}
			if status.IsDeclared(err) {
				t.Errorf("the stub returns the exception itself, got %v", err)
			}
			waitFor(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return len(st.calls) == 1 })
			for _, side := range [][]seen{ct.take(), st.take()} {
				if len(side) != 1 || !status.IsDeclared(side[0].err) || !errors.As(side[0].err, &ee) {
					t.Errorf("tracer saw %+v, want one KindDeclared error wrapping EchoError", side)
				}
			}
			checkMiddleware(t, cm.take(), sm.take(), func(err error) bool { return status.IsDeclared(err) && errors.As(err, &ee) })
			checkStartSawKey(t, "server", st)
		})
	}
}

// TestPipelineGRPC: the same over gRPC, for a unary call and a bidi
// stream. Sizes are the gRPC messages' bytes (5-byte prefix and payload),
// equal on both sides; HTTP/2 framing is the transport's.
func TestPipelineGRPC(t *testing.T) {
	st, sm := &recorder{}, &mwRecorder{}
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
		server.WithTracer(st), server.WithMiddleware(sm.middleware(true)))
	if err := svr.RegisterService(grpcinterop.TestServiceInfo(), grpcinterop.NewTestServer()); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	ct, cm := &recorder{}, &mwRecorder{}
	cli, err := client.New(grpcinterop.TestServiceInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default),
		client.WithTracer(ct), client.WithMiddleware(cm.middleware(false)), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	stub := grpcinterop.NewClient(cli)
	ctx := context.Background()

	req := &testpb.SimpleRequest{ResponseSize: 100, Payload: &testpb.Payload{Body: make([]byte, 200)}}
	if _, err := stub.UnaryCall(ctx, req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return len(st.calls) == 1 })
	reqSize := 5 + proto.Size(req)
	respSize := 5 + proto.Size(&testpb.SimpleResponse{Payload: &testpb.Payload{Body: make([]byte, 100)}})
	checkOneCall(t, "UnaryCall", ct.take(), st.take(), reqSize, respSize)
	checkMiddleware(t, cm.take(), sm.take(), nil)

	wrappedSends.Store(0)
	wrappedRecvs.Store(0)
	bidi, err := stub.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 50}},
		Payload: &testpb.Payload{Body: make([]byte, 30)}}
	const rounds = 3
	for range rounds {
		if err := bidi.Send(out); err != nil {
			t.Fatal(err)
		}
		if _, err := bidi.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if err := bidi.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := bidi.Recv(); err != io.EOF {
		t.Fatalf("end of stream: %v", err)
	}
	if wrappedSends.Load() != rounds || wrappedRecvs.Load() != rounds {
		t.Errorf("the client middleware's stream wrapper saw %d sends and %d receives, want %d each",
			wrappedSends.Load(), wrappedRecvs.Load(), rounds)
	}
	waitFor(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return len(st.calls) == 1 })
	oneOut := 5 + proto.Size(out)
	oneIn := 5 + proto.Size(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: make([]byte, 50)}})
	checkOneCall(t, "FullDuplexCall", ct.take(), st.take(), rounds*oneOut, rounds*oneIn)
	checkMiddleware(t, cm.take(), sm.take(), nil)
	checkStartSawKey(t, "server", st)
}

// checkStartSawKey: a server tracer's Start saw the request key on every
// call it started: the request metadata is read before the tracers start,
// on every protocol. (A client tracer starts before the client middleware
// that sets the key.)
func checkStartSawKey(t *testing.T, side string, r *recorder) {
	t.Helper()
	if n, k := r.started.Load(), r.withKey.Load(); n == 0 || k != n {
		t.Errorf("%s tracer's Start saw the request key in %d of %d calls", side, k, n)
	}
}

// checkOneCall checks one call's tracer records on both sides: the
// request key seen, the reply key back on the client, no error, and sizes
// up (client to server) and down.
func checkOneCall(t *testing.T, method string, cli, svr []seen, up, down int) {
	t.Helper()
	if len(cli) != 1 || len(svr) != 1 {
		t.Fatalf("tracers saw %d client and %d server calls, want 1 each", len(cli), len(svr))
	}
	c, s := cli[0], svr[0]
	for side, x := range map[string]seen{"client": c, "server": s} {
		if x.method != method || x.trace != traceVal || x.err != nil {
			t.Errorf("%s tracer saw %+v, want method %s, %s %q and no error", side, x, method, traceKey, traceVal)
		}
	}
	if c.reply != "skiff" {
		t.Errorf("client tracer saw reply key %q, want the server's %q", c.reply, "skiff")
	}
	if c.send != up || s.recv != up || s.send != down || c.recv != down {
		t.Errorf("sizes: client sent %d, server received %d (wire %d); server sent %d, client received %d (wire %d)",
			c.send, s.recv, up, s.send, c.recv, down)
	}
}

// checkMiddleware checks each side's middleware saw one call with the
// request key, and an error that ok accepts (nil: no error).
func checkMiddleware(t *testing.T, cli, svr []seen, ok func(error) bool) {
	t.Helper()
	for side, calls := range map[string][]seen{"client": cli, "server": svr} {
		if len(calls) != 1 {
			t.Errorf("%s middleware saw %d calls, want 1", side, len(calls))
			continue
		}
		c := calls[0]
		if c.trace != traceVal {
			t.Errorf("%s middleware saw %s %q", side, traceKey, c.trace)
		}
		if (ok == nil && c.err != nil) || (ok != nil && !ok(c.err)) {
			t.Errorf("%s middleware saw error %v", side, c.err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(time.Millisecond)
	}
}
