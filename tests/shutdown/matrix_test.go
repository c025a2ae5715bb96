package shutdown_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/codec-grpc/health"
	_ "github.com/skiffrpc/skiff/codec-protobuf" // Kitex Protobuf, sniffed by the server
	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/registrytest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// lagging is a registry whose deregistration lags: Deregister takes lag
// before the instance leaves the in-memory registry (a registry that
// answers slowly, or one whose watchers learn late). It calls onDeregister
// first and records when Deregister returned.
type lagging struct {
	*registrytest.Memory
	lag          time.Duration
	onDeregister func()
	returned     chan struct{}
}

func (l *lagging) Deregister(info *registry.Info) error {
	if l.onDeregister != nil {
		l.onDeregister()
	}
	time.Sleep(l.lag)
	err := l.Memory.Deregister(info)
	close(l.returned)
	return err
}

// echoImpl answers at once.
type echoImpl struct{}

func (echoImpl) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message}, nil
}
func (echoImpl) Fail(context.Context, int32) (*echo.EchoResponse, error) { return nil, nil }
func (echoImpl) Notify(context.Context, string) error                    { return nil }

// matrixServer starts a server on eng serving echo, the greeter (with a
// stream that stays open) and health, registered in reg.
func matrixServer(t *testing.T, eng engine.Engine, reg registry.Registry, exitWait time.Duration) (*server.Server, *greeter, *health.Server) {
	t.Helper()
	g := &greeter{opened: make(chan struct{})}
	hs := health.NewServer()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithEngine(eng),
		server.WithExitWaitTime(exitWait), server.WithRegistry(reg, nil))
	if err := svr.RegisterService(echo.ServiceInfo(), echoImpl{}); err != nil {
		t.Fatal(err)
	}
	if err := greeterpb.RegisterGreeter(svr, g); err != nil {
		t.Fatal(err)
	}
	if err := svr.RegisterService(health.ServiceInfo(), hs); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr, g, hs
}

// unary makes one call; text must come back.
type unary func(ctx context.Context, text string) error

// matrixStack is one client transport.
type matrixStack struct {
	name string
	dial func(t *testing.T, r *registrytest.Memory) unary
}

func echoStack(name string, opts ...client.Option) matrixStack {
	return matrixStack{name, func(t *testing.T, r *registrytest.Memory) unary {
		cli, err := client.New(echo.ServiceInfo(), append([]client.Option{client.WithResolver(r.Watching()),
			client.WithLogger(quiet), client.WithRPCTimeout(3 * time.Second)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cli.Close() })
		ec := echo.NewClient(cli)
		return func(ctx context.Context, text string) error {
			resp, err := ec.Echo(ctx, &echo.EchoRequest{Message: text})
			if err == nil && resp.Message != text {
				err = fmt.Errorf("reply %q to %q", resp.Message, text)
			}
			return err
		}
	}}
}

func greeterStack(name string, opts ...client.Option) matrixStack {
	return matrixStack{name, func(t *testing.T, r *registrytest.Memory) unary {
		cli, err := client.New(greeterpb.GreeterServiceInfo(), append([]client.Option{client.WithResolver(r.Watching()),
			client.WithLogger(quiet), client.WithRPCTimeout(3 * time.Second)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cli.Close() })
		gc := greeterpb.NewGreeterSkiffClient(cli)
		return func(ctx context.Context, text string) error {
			resp, err := gc.SayHello(ctx, &greeterpb.HelloRequest{Name: text})
			if err == nil && resp.Message != text {
				err = fmt.Errorf("reply %q to %q", resp.Message, text)
			}
			return err
		}
	}}
}

// matrixStacks are the transports of issue 20's Show 2.
func matrixStacks() []matrixStack {
	return []matrixStack{
		echoStack("framed", client.WithTransport(transport.Framed)),
		echoStack("buffered", client.WithTransport(thriftcodec.Buffered)),
		echoStack("ttheader", client.WithTransport(ttheader.TTHeader), client.WithLongConnection(client.PoolConfig{})),
		echoStack("ttheader-mux", client.WithTransport(ttheader.TTHeader), client.WithMultiplex(2)),
		greeterStack("kitex-protobuf", client.WithTransport(ttheader.TTHeaderFramed)),
		greeterStack("grpc", client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default)),
	}
}

// load makes calls at rate per second until stop is closed and returns
// how many it made and the failures.
func load(call unary, rate int, stop <-chan struct{}) (calls int64, failed []error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var n atomic.Int64
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			wg.Wait()
			return n.Load(), failed
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.Add(1)
			if err := call(context.Background(), fmt.Sprint(i)); err != nil {
				mu.Lock()
				failed = append(failed, err)
				mu.Unlock()
			}
		}()
	}
}

// refusedWithin dials addr until the dial is refused and returns how long
// that took, or false after limit.
func refusedWithin(addr string, limit time.Duration) (time.Duration, bool) {
	t0 := time.Now()
	for time.Since(t0) < limit {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return time.Since(t0), true
		}
		_ = c.Close()
		time.Sleep(2 * time.Millisecond)
	}
	return limit, false
}

// TestStopMatrix (issue 20, Show 2): for every transport on both engines,
// one of two servers stops while a client calls at 500 calls/s through a
// registry whose deregistration lags 1 s, with a gRPC stream open on the
// stopping server: no unary call fails; health is NOT_SERVING before
// deregistration begins; the server keeps accepting while it deregisters
// and refuses new connections at once after; the stream ends with
// UNAVAILABLE at the exit wait, and Stop reports the forced close as
// server.ErrForcedStop.
func TestStopMatrix(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Netpoll, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) { stopMatrix(t, eng) })
	}
}

func stopMatrix(t *testing.T, eng engine.Engine) {
	for _, st := range matrixStacks() {
		t.Run(st.name, func(t *testing.T) { stopCase(t, eng, st, true) })
	}
}

// TestStopMatrixDrained: the same stop under load with a stream whose
// client ends it when the server starts deregistering: everything drains
// within the exit wait, and Stop returns nil.
func TestStopMatrixDrained(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Netpoll, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			stopCase(t, eng, echoStack("ttheader-mux", client.WithTransport(ttheader.TTHeader), client.WithMultiplex(2)), false)
		})
	}
}

func stopCase(t *testing.T, eng engine.Engine, st matrixStack, keepStream bool) {
	const (
		rate     = 500
		lag      = time.Second
		exitWait = 700 * time.Millisecond
	)
	mem := registrytest.NewMemory()
	var (
		deregBegan   atomic.Int64 // unix nanos
		healthAtDreg atomic.Int32
		hsA          *health.Server
		endStream    = make(chan struct{})
	)
	lagA := &lagging{Memory: mem, lag: lag, returned: make(chan struct{})}
	lagA.onDeregister = func() {
		deregBegan.Store(time.Now().UnixNano())
		res, err := hsA.Check(context.Background(), &health.CheckRequest{})
		if err == nil {
			healthAtDreg.Store(int32(res.Status))
		}
		if !keepStream {
			close(endStream)
		}
	}
	svrA, gA, hs := matrixServer(t, eng, lagA, exitWait)
	hsA = hs
	addrA := svrA.Addr().String()
	matrixServer(t, eng, mem, exitWait) // B: deregisters at once, at cleanup

	// A long-lived gRPC stream on A.
	scli, err := client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts(addrA), client.WithLogger(quiet),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default))
	if err != nil {
		t.Fatal(err)
	}
	defer scli.Close()
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	stream, err := greeterpb.NewGreeterSkiffClient(scli).LotsOfHellos(sctx, &greeterpb.HelloRequest{Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	<-gA.opened
	streamEnd := make(chan error, 1)
	go func() {
		if !keepStream {
			<-endStream
			scancel() // the client ends its stream
		}
		_, err := stream.Recv()
		streamEnd <- err
	}()

	call := st.dial(t, mem)
	// Both instances take calls before the stop.
	stopLoad := make(chan struct{})
	type result struct {
		n      int64
		failed []error
	}
	loaded := make(chan result, 1)
	go func() {
		n, f := load(call, rate, stopLoad)
		loaded <- result{n, f}
	}()
	time.Sleep(200 * time.Millisecond)

	t0 := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- svrA.Stop() }()

	// While A deregisters, it still accepts: clients that resolved it
	// meanwhile reach it.
	time.Sleep(lag / 2)
	if c, err := net.DialTimeout("tcp", addrA, 200*time.Millisecond); err != nil {
		t.Errorf("dial during deregistration: %v", err)
	} else {
		_ = c.Close()
	}
	<-lagA.returned
	deregEnd := time.Now()
	refusedAfter, refused := refusedWithin(addrA, 2*time.Second)
	if !refused {
		t.Errorf("the listener still accepts 2 s after deregistration")
	}

	var stopErr error
	select {
	case stopErr = <-stopped:
	case <-time.After(lag + exitWait + 5*time.Second):
		t.Fatal("Stop did not return")
	}
	stopTook := time.Since(t0)
	time.Sleep(100 * time.Millisecond) // calls on B after A is gone
	close(stopLoad)
	res := <-loaded

	var sErr error
	select {
	case sErr = <-streamEnd:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end")
	}

	t.Logf("%d calls, %d failed; health at deregistration %v (%v after Stop); listener refused %v after deregistration returned; Stop %v in %v; stream %v",
		res.n, len(res.failed), health.ServingStatus(healthAtDreg.Load()), time.Duration(deregBegan.Load()-t0.UnixNano()).Round(time.Microsecond),
		refusedAfter.Round(time.Millisecond), stopErr, stopTook.Round(time.Millisecond), status.CodeOf(sErr))
	if len(res.failed) > 0 {
		t.Errorf("%d of %d unary calls failed; first: %v", len(res.failed), res.n, res.failed[0])
	}
	if res.n < rate {
		t.Errorf("only %d calls made", res.n)
	}
	if got := health.ServingStatus(healthAtDreg.Load()); got != health.NotServing {
		t.Errorf("health was %v when deregistration began, want NOT_SERVING", got)
	}
	if refusedAfter > 300*time.Millisecond {
		t.Errorf("new connections refused %v after deregistration returned, want at once", refusedAfter)
	}
	_ = deregEnd
	if keepStream {
		if status.CodeOf(sErr) != status.Unavailable {
			t.Errorf("stream ended with %v (code %v), want UNAVAILABLE", sErr, status.CodeOf(sErr))
		}
		if !errors.Is(stopErr, server.ErrForcedStop) {
			t.Errorf("Stop returned %v, want ErrForcedStop", stopErr)
		}
	} else if stopErr != nil {
		t.Errorf("Stop returned %v after everything drained, want nil", stopErr)
	}
}
