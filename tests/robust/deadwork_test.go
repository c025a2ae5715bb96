package robust_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/diag"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// slowWork is a 2 s piece of work that a well-behaved handler gives up
// when its context ends. (A handler that ignores its context runs to
// completion: Go cannot stop a goroutine, and grpc-go and Kitex do not
// either.)
func slowWork(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Second):
		return nil
	}
}

// gauge counts the handlers running and started.
type gauge struct{ running, started atomic.Int64 }

func (g *gauge) enter() func() {
	g.running.Add(1)
	g.started.Add(1)
	return func() { g.running.Add(-1) }
}

// burst fires calls concurrent calls, each with a timeout of timeout, and
// returns when the last call's deadline was, after every call returned;
// every call must time out.
func burst(t *testing.T, calls int, timeout time.Duration, call func(ctx context.Context) error) time.Time {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last time.Time
	var others atomic.Int64
	var firstOther atomic.Value
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			err := call(ctx)
			cancel()
			if !errors.Is(err, status.ErrTimeout) && status.CodeOf(err) != status.DeadlineExceeded {
				others.Add(1)
				firstOther.CompareAndSwap(nil, err)
			}
			mu.Lock()
			if d := t0.Add(timeout); d.After(last) {
				last = d
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n := others.Load(); n != 0 {
		t.Errorf("%d of %d calls did not time out (first: %v)", n, calls, firstOther.Load())
	}
	return last
}

// idleAfter waits until no handler runs (up to 10 s after last) and
// returns how long after last that was.
func idleAfter(g *gauge, last time.Time) time.Duration {
	for g.running.Load() > 0 && time.Since(last) < 10*time.Second {
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(last)
}

// expiredCalls reads the server's count of calls dropped before they
// started from its diagnosis probe.
func expiredCalls(t *testing.T, d *diag.Registry) int64 {
	t.Helper()
	var total int64
	for name, v := range d.Snapshot() {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Expired *int64 `json:"expired_calls"`
		}
		if err := json.Unmarshal(b, &st); err != nil || st.Expired == nil {
			t.Fatalf("probe %s: no expired_calls in %s (%v)", name, b, err)
		}
		total += *st.Expired
	}
	return total
}

// deadWork runs 2,000 calls with a 50 ms timeout at a 2 s handler over
// one multiplexed TTHeader connection and returns how long after the last
// call's deadline the server still ran handlers, how many started, and
// how many the server dropped unstarted.
func deadWork(t *testing.T, eng engine.Engine, opts ...server.Option) (idle time.Duration, started, expired int64) {
	t.Helper()
	const calls, timeout = 2000, 50 * time.Millisecond
	var g gauge
	h := hop{func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
		defer g.enter()()
		if err := slowWork(ctx); err != nil {
			return nil, err
		}
		return &echo.EchoResponse{Message: req.Message}, nil
	}}
	d := diag.NewRegistry(16)
	svr := start(t, h, append([]server.Option{server.WithEngine(eng), server.WithDiagnosis(d),
		server.WithExitWaitTime(5 * time.Second)}, opts...)...)
	defer func() {
		t0 := time.Now()
		err := svr.Stop()
		t.Logf("Stop: %v in %v", err, time.Since(t0))
	}()
	stub := dial(t, svr.Addr().String(), client.WithTransport(ttheader.TTHeader), client.WithMultiplex(1),
		client.WithLogger(quiet), client.WithRPCTimeout(timeout))
	// A first call opens the connection (it times out too).
	_, _ = stub.Echo(context.Background(), &echo.EchoRequest{Message: "warm"})
	for g.running.Load() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	g.started.Store(0)
	before := expiredCalls(t, d)
	last := burst(t, calls, timeout, func(ctx context.Context) error {
		_, err := stub.Echo(ctx, &echo.EchoRequest{Message: "x"})
		return err
	})
	idle = idleAfter(&g, last)
	expired = expiredCalls(t, d) - before
	t.Logf("%s: %d calls timed out; %d handlers started, %d calls dropped unstarted; server idle %v after the last deadline",
		eng.Name(), calls, g.started.Load(), expired, idle.Round(time.Millisecond))
	return idle, g.started.Load(), expired
}

// TestDeadWorkMux (issue 20, Show 4): 2,000 calls with a 50 ms timeout to
// a 2 s handler that watches its context, over one multiplexed TTHeader
// connection: each handler's context ends at its caller's deadline, and
// the server is idle within 1 s of the last deadline, on both engines.
func TestDeadWorkMux(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Netpoll, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			idle, _, _ := deadWork(t, eng)
			if idle > time.Second {
				t.Errorf("handlers still ran %v after the last deadline", idle)
			}
		})
	}
}

// TestDeadWorkQueued: with 16 calls at most running per connection, the
// calls buffered behind them expire while they wait (their deadline
// counts from their arrival, not from when the server reads them): they
// are dropped unstarted and counted, and the server is idle within 1 s of
// the last deadline.
func TestDeadWorkQueued(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Netpoll, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			idle, started, expired := deadWork(t, eng, server.WithConnConcurrency(16))
			if idle > time.Second {
				t.Errorf("handlers still ran %v after the last deadline", idle)
			}
			if started > 500 {
				t.Errorf("%d of 2000 handlers started: expired calls were not dropped", started)
			}
			// The others were not sent: the client gave up on them first.
			if expired == 0 {
				t.Errorf("no call was dropped unstarted")
			}
		})
	}
}

// deadGreeter is a gRPC greeter whose SayHello is the 2 s work.
type deadGreeter struct{ g *gauge }

func (d deadGreeter) SayHello(ctx context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	defer d.g.enter()()
	if err := slowWork(ctx); err != nil {
		return nil, err
	}
	return &greeterpb.HelloReply{Message: req.Name}, nil
}

func (deadGreeter) LotsOfHellos(*greeterpb.HelloRequest, stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	return nil
}

// TestDeadWorkGRPC: the same over gRPC (the deadline travels in
// grpc-timeout): the server is idle within 1 s of the last deadline.
func TestDeadWorkGRPC(t *testing.T) {
	var g gauge
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	if err := greeterpb.RegisterGreeter(svr, deadGreeter{&g}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	defer svr.Stop()
	cli, err := client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts(svr.Addr().String()), client.WithLogger(quiet),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	gc := greeterpb.NewGreeterSkiffClient(cli)
	const calls, timeout = 2000, 50 * time.Millisecond
	last := burst(t, calls, timeout, func(ctx context.Context) error {
		_, err := gc.SayHello(ctx, &greeterpb.HelloRequest{Name: "x"})
		return err
	})
	idle := idleAfter(&g, last)
	t.Logf("gRPC: %d calls timed out; %d handlers started; server idle %v after the last deadline",
		calls, g.started.Load(), idle.Round(time.Millisecond))
	if idle > time.Second {
		t.Errorf("handlers still ran %v after the last deadline", idle)
	}
}
