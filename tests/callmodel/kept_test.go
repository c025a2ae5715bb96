package callmodel_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// callIDKey is the metainfo key that carries each call's unique id. It is
// upper case with underscores so it survives gRPC's header mapping
// (CALL_ID <-> rpc-transit-call-id) unchanged.
const callIDKey = "CALL_ID"

// The shape of the kept-context load: keptCallers goroutines making
// keptCalls calls each; a kept context is read keptDelay after the call
// returned.
const (
	keptCallers = 8
	keptCalls   = 1000
	keptDelay   = 10 * time.Millisecond
	keptBudget  = 40 * time.Second // for all calls of one test
)

// probeKey is a context key nobody sets: looking it up walks a context's
// whole chain.
type probeKey struct{}

// The phases in which a keeper reads a context.
const (
	phaseDuring  = "during the call"
	phaseLater   = "in a goroutine 10ms after the call returned"
	phaseWithout = "as context.WithoutCancel, after all calls"
)

// keeper keeps the contexts of calls past their end, the way a handler or
// middleware that starts background work does, and reads them later. It
// records every mismatch and panic.
type keeper struct {
	side string // "server" or "client", for messages

	wg sync.WaitGroup // the reading goroutines

	mu     sync.Mutex
	phases map[string]*phaseStats
	stored []keptCtx
}

// phaseStats counts the reads of one phase.
type phaseStats struct {
	reads, bad, panics int
	first              []string // the first problems, for the report
}

// keptCtx is a context kept with what it must still say.
type keptCtx struct {
	ctx                 context.Context
	id, service, method string
}

// keep is called at the start of a call with the call's context, its id
// and method. It checks the context now, starts a goroutine that reads it
// keptDelay after the call returned, and stores context.WithoutCancel(ctx)
// for finish. The caller must call the returned function when it returns.
func (k *keeper) keep(ctx context.Context, id, method string) (returned func()) {
	kc := keptCtx{ctx: ctx, id: id, method: method}
	if ci := callinfo.From(ctx); ci != nil {
		kc.service = ci.Service
	}
	if id == "" {
		k.problem(phaseDuring, false, "call ? (%s): no %s metainfo value", method, callIDKey)
	}
	k.read(phaseDuring, kc)
	k.mu.Lock()
	k.stored = append(k.stored, keptCtx{ctx: context.WithoutCancel(ctx), id: id, service: kc.service, method: method})
	k.mu.Unlock()
	done := make(chan struct{})
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		<-done
		time.Sleep(keptDelay)
		k.read(phaseLater, kc)
	}()
	return func() { close(done) }
}

// read checks that kc.ctx still gives its own call id, service and method,
// and that Err, Done, Deadline and Value work; a panic is recorded.
func (k *keeper) read(phase string, kc keptCtx) {
	k.count(phase)
	defer func() {
		if p := recover(); p != nil {
			k.problem(phase, true, "call %s (%s): panic: %v", kc.id, kc.method, p)
		}
	}()
	ctx := kc.ctx
	_ = ctx.Err()
	_ = ctx.Done()
	_, _ = ctx.Deadline()
	if v := ctx.Value(probeKey{}); v != nil {
		k.problem(phase, false, "call %s (%s): Value(unset key) = %v", kc.id, kc.method, v)
		return
	}
	ci := callinfo.From(ctx)
	if ci == nil {
		k.problem(phase, false, "call %s (%s): callinfo.From = nil", kc.id, kc.method)
		return
	}
	if service, method := ci.Service, ci.Method; service != kc.service || method != kc.method {
		k.problem(phase, false, "call %s (%s): callinfo says %s.%s, want %s.%s", kc.id, kc.method, service, method, kc.service, kc.method)
		return
	}
	if v, _ := metainfo.GetValue(ctx, callIDKey); v != kc.id {
		k.problem(phase, false, "call %s (%s): metainfo %s = %q, want %q", kc.id, kc.method, callIDKey, v, kc.id)
	}
}

// phase returns the stats of phase; k.mu is held.
func (k *keeper) phase(phase string) *phaseStats {
	if k.phases == nil {
		k.phases = map[string]*phaseStats{}
	}
	ps := k.phases[phase]
	if ps == nil {
		ps = &phaseStats{}
		k.phases[phase] = ps
	}
	return ps
}

func (k *keeper) count(phase string) {
	k.mu.Lock()
	k.phase(phase).reads++
	k.mu.Unlock()
}

func (k *keeper) problem(phase string, panicked bool, format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ps := k.phase(phase)
	ps.bad++
	if panicked {
		ps.panics++
	}
	if len(ps.first) < 4 {
		ps.first = append(ps.first, fmt.Sprintf(format, args...))
	}
}

// finish waits for the reading goroutines, reads the stored contexts
// (now, long after their calls), and fails t on any problem.
func (k *keeper) finish(t *testing.T, calls int) {
	t.Helper()
	waited := make(chan struct{})
	go func() { k.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: goroutines reading kept contexts did not finish within 10s", k.side)
	}
	k.mu.Lock()
	stored := k.stored
	k.stored = nil
	k.mu.Unlock()
	if len(stored) != calls {
		t.Errorf("%s: %d contexts kept, want one per call (%d)", k.side, len(stored), calls)
	}
	for _, kc := range stored {
		k.read(phaseWithout, kc)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, phase := range []string{phaseDuring, phaseLater, phaseWithout} {
		if ps := k.phase(phase); ps.bad > 0 {
			t.Errorf("%s, %s: %d of %d reads of kept contexts failed (%d panicked); first:\n\t%s",
				k.side, phase, ps.bad, ps.reads, ps.panics, strings.Join(ps.first, "\n\t"))
		}
	}
}

// keepMiddleware is a client middleware that keeps every call's context
// in k.
func keepMiddleware(k *keeper) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			id, _ := metainfo.GetValue(ctx, callIDKey)
			method := ""
			if ci := callinfo.From(ctx); ci != nil {
				method = ci.Method
			}
			defer k.keep(ctx, id, method)()
			return next(ctx, req, resp)
		}
	}
}

// runKept makes keptCallers x keptCalls calls with call(ctx, n), each
// carrying the unique id strconv.Itoa(n) as metainfo, and fails t if a
// call fails or the budget runs out.
func runKept(t *testing.T, call func(ctx context.Context, n int) error) {
	t.Helper()
	deadline := time.Now().Add(keptBudget)
	var wg sync.WaitGroup
	var failed, skipped atomic.Int64
	var firstErr atomic.Value
	for c := 0; c < keptCallers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < keptCalls; j++ {
				if time.Now().After(deadline) {
					skipped.Add(int64(keptCalls - j))
					return
				}
				n := c*keptCalls + j
				ctx := metainfo.WithValue(context.Background(), callIDKey, strconv.Itoa(n))
				if err := call(ctx, n); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("call %d: %v", n, err))
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d calls failed; first: %v", n, firstErr.Load())
	}
	if n := skipped.Load(); n > 0 {
		t.Errorf("%d calls not made: the %v budget ran out", n, keptBudget)
	}
}

// keptEcho is the echo service of the kept-context tests: Echo and Fail
// keep their context in k.
type keptEcho struct{ k *keeper }

func (h keptEcho) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	if v, _ := metainfo.GetValue(ctx, callIDKey); v != req.Message {
		h.k.problem(phaseDuring, false, "call %s (Echo): metainfo %s = %q, the request says %q", req.Message, callIDKey, v, req.Message)
	}
	defer h.k.keep(ctx, req.Message, "Echo")()
	return &echo.EchoResponse{Message: req.Message}, nil
}

func (h keptEcho) Fail(ctx context.Context, code int32) (*echo.EchoResponse, error) {
	id := strconv.Itoa(int(code))
	if v, _ := metainfo.GetValue(ctx, callIDKey); v != id {
		h.k.problem(phaseDuring, false, "call %s (Fail): metainfo %s = %q, the request says %q", id, callIDKey, v, id)
	}
	defer h.k.keep(ctx, id, "Fail")()
	return nil, &echo.EchoError{Code: code, Reason: "kept"}
}

func (keptEcho) Notify(context.Context, string) error { return nil }

// testKeptTTHeader runs the kept-context load over TTHeader against an
// echo server with the server options opts.
func testKeptTTHeader(t *testing.T, opts ...server.Option) {
	sk, ck := &keeper{side: "server"}, &keeper{side: "client"}
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, opts...)...)
	if err := svr.RegisterService(echo.ServiceInfo(), keptEcho{sk}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	cli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithTransport(ttheader.TTHeader), client.WithLogger(quiet),
		client.WithLongConnection(client.PoolConfig{MaxIdlePerAddress: keptCallers, MaxIdleGlobal: keptCallers}),
		client.WithMiddleware(keepMiddleware(ck)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	stub := echo.NewClient(cli)

	runKept(t, func(ctx context.Context, n int) error {
		id := strconv.Itoa(n)
		if n%2 == 0 {
			resp, err := stub.Echo(ctx, &echo.EchoRequest{Message: id})
			if err == nil && resp.Message != id {
				err = fmt.Errorf("Echo(%s) = %q", id, resp.Message)
			}
			return err
		}
		_, err := stub.Fail(ctx, int32(n))
		var ee *echo.EchoError
		if !errors.As(err, &ee) || ee.Code != int32(n) {
			return fmt.Errorf("Fail(%d): want EchoError %d, got %v", n, n, err)
		}
		return nil
	})
	sk.finish(t, keptCallers*keptCalls)
	ck.finish(t, keptCallers*keptCalls)
}

// TestKeptContextNetpoll proves that on the default (Netpoll) server over
// TTHeader a handler's context, and a client middleware's, stay valid for
// their own call after the call returned: read from a goroutine 10 ms
// later and as context.WithoutCancel after all calls, they give the call's
// own metainfo id and method, and Err, Done, Deadline and Value do not
// panic.
func TestKeptContextNetpoll(t *testing.T) { testKeptTTHeader(t) }

// TestKeptContextStd is TestKeptContextNetpoll on the std engine
// (server.WithEngine(engine.Std)).
func TestKeptContextStd(t *testing.T) { testKeptTTHeader(t, server.WithEngine(engine.Std)) }

// keptTestService is grpc.testing.TestService whose EmptyCall and
// UnaryCall keep their context in k.
type keptTestService struct {
	grpcinterop.TestService
	k *keeper
}

func (s keptTestService) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	id, _ := metainfo.GetValue(ctx, callIDKey)
	defer s.k.keep(ctx, id, "EmptyCall")()
	return new(testpb.Empty), nil
}

func (s keptTestService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	id := string(req.GetPayload().GetBody())
	if v, _ := metainfo.GetValue(ctx, callIDKey); v != id {
		s.k.problem(phaseDuring, false, "call %s (UnaryCall): metainfo %s = %q, the request says %q", id, callIDKey, v, id)
	}
	defer s.k.keep(ctx, id, "UnaryCall")()
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: []byte(id)}}, nil
}

// TestKeptContextGRPC is TestKeptContextNetpoll over gRPC (transport-http2
// and codec-grpc, metainfo as rpc-transit-* headers) against a std-engine
// server, with EmptyCall and UnaryCall of grpc.testing.TestService.
func TestKeptContextGRPC(t *testing.T) {
	sk, ck := &keeper{side: "server"}, &keeper{side: "client"}
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithEngine(engine.Std))
	if err := svr.RegisterService(grpcinterop.TestServiceInfo(), keptTestService{grpcinterop.NewTestServer(), sk}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	cli, err := client.New(grpcinterop.TestServiceInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default),
		client.WithLogger(quiet), client.WithMiddleware(keepMiddleware(ck)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	stub := grpcinterop.NewClient(cli)

	runKept(t, func(ctx context.Context, n int) error {
		if n%2 == 0 {
			_, err := stub.EmptyCall(ctx, new(testpb.Empty))
			return err
		}
		id := strconv.Itoa(n)
		resp, err := stub.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(id)}})
		if err == nil && string(resp.GetPayload().GetBody()) != id {
			err = fmt.Errorf("UnaryCall(%s) = %q", id, resp.GetPayload().GetBody())
		}
		return err
	})
	sk.finish(t, keptCallers*keptCalls)
	ck.finish(t, keptCallers*keptCalls)
}
