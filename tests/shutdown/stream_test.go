package shutdown_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/codec-grpc/health"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

var quiet = slog.New(slog.DiscardHandler)

// greeter answers SayHello at once and keeps LotsOfHellos open: one
// reply, then it waits for its context.
type greeter struct {
	opened chan struct{}
	once   sync.Once
}

func (g *greeter) SayHello(_ context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	return &greeterpb.HelloReply{Message: req.Name}, nil
}

func (g *greeter) LotsOfHellos(req *greeterpb.HelloRequest, ss stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	if err := ss.Send(&greeterpb.HelloReply{Message: req.Name}); err != nil {
		return err
	}
	g.once.Do(func() { close(g.opened) })
	<-ss.Context().Done()
	return ss.Context().Err()
}

// TestStopWithOpenStream: a gRPC stream that never ends on its own does
// not keep the listener open; health turns NOT_SERVING at once; the
// stream ends with UNAVAILABLE at the exit wait; Stop reports the forced
// end as server.ErrForcedStop.
func TestStopWithOpenStream(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Netpoll, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			const exitWait = 1500 * time.Millisecond
			g := &greeter{opened: make(chan struct{})}
			hs := health.NewServer()
			svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithEngine(eng),
				server.WithExitWaitTime(exitWait))
			if err := greeterpb.RegisterGreeter(svr, g); err != nil {
				t.Fatal(err)
			}
			if err := svr.RegisterService(health.ServiceInfo(), hs); err != nil {
				t.Fatal(err)
			}
			if err := svr.Start(); err != nil {
				t.Fatal(err)
			}
			addr := svr.Addr().String()
			cli, err := client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts(addr), client.WithLogger(quiet),
				client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default))
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			gc := greeterpb.NewGreeterSkiffClient(cli)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := gc.LotsOfHellos(ctx, &greeterpb.HelloRequest{Name: "a"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Recv(); err != nil {
				t.Fatal(err)
			}
			<-g.opened

			stopped := make(chan error, 1)
			t0 := time.Now()
			go func() { stopped <- svr.Stop() }()

			// The listener closes at once, whatever streams are open.
			deadline := time.Now().Add(time.Second)
			for {
				c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
				if err != nil {
					break
				}
				_ = c.Close()
				if time.Now().After(deadline) {
					t.Fatalf("the listener still accepts %v after Stop began", time.Since(t0))
				}
				time.Sleep(10 * time.Millisecond)
			}
			if el := time.Since(t0); el > 500*time.Millisecond {
				t.Errorf("the listener closed %v after Stop began", el)
			}
			// Health said NOT_SERVING as the stop began.
			if res, err := hs.Check(context.Background(), &health.CheckRequest{}); err != nil || res.Status != health.NotServing {
				t.Errorf("health during stop: %v, %v", res, err)
			}

			// The stream ends with UNAVAILABLE (a status, not a lost
			// connection) once the exit wait is over.
			_, err = st.Recv()
			if status.CodeOf(err) != status.Unavailable || errors.Is(err, io.EOF) {
				t.Errorf("stream ended with %v (code %v), want UNAVAILABLE", err, status.CodeOf(err))
			}
			select {
			case err := <-stopped:
				if !errors.Is(err, server.ErrForcedStop) {
					t.Errorf("Stop returned %v, want ErrForcedStop", err)
				}
				if el := time.Since(t0); el < exitWait-100*time.Millisecond || el > exitWait+3*time.Second {
					t.Errorf("Stop took %v with exit wait %v", el, exitWait)
				}
			case <-time.After(exitWait + 5*time.Second):
				t.Fatal("Stop did not return")
			}
		})
	}
}

// TestStopDrained: a stop with nothing in flight returns nil.
func TestStopDrained(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	if err := greeterpb.RegisterGreeter(svr, &greeter{opened: make(chan struct{})}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	if err := svr.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}
