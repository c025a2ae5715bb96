package hostile_test

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// sayHello serves SayHello only.
type sayHello struct{ greeterpb.Greeter }

func (sayHello) SayHello(_ context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	return &greeterpb.HelloReply{Message: req.Name}, nil
}

// countConns is a ConnHook counting the connections accepted.
type countConns struct{ accepted atomic.Int64 }

func (c *countConns) Accept(net.Addr) error { c.accepted.Add(1); return nil }
func (c *countConns) Closed(net.Addr)       {}

// An HTTP/2 connection the server closed for having no stream
// (h2transport.WithMaxConnectionIdle) costs the client nothing: its next
// call dials again and succeeds, on both engines.
func TestHTTP2IdleCloseReconnects(t *testing.T) {
	for _, eng := range engines() {
		t.Run(eng.Name(), func(t *testing.T) {
			const idle = 200 * time.Millisecond
			conns := &countConns{}
			svr := server.New(server.WithConnHook(conns), server.WithAddress("127.0.0.1:0"), server.WithEngine(eng), server.WithLogger(slog.New(slog.DiscardHandler)),
				server.WithStreamProtocols(h2transport.New(h2transport.WithMaxConnectionIdle(idle))))
			if err := greeterpb.RegisterGreeter(svr, sayHello{}); err != nil {
				t.Fatal(err)
			}
			if err := svr.Start(); err != nil {
				t.Fatal(err)
			}
			defer svr.Stop()
			cli, err := client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts(svr.Addr().String()),
				client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default))
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			gc := greeterpb.NewGreeterSkiffClient(cli)
			for i := 0; i < 3; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				res, err := gc.SayHello(ctx, &greeterpb.HelloRequest{Name: "again"})
				cancel()
				if err != nil || res.Message != "again" {
					t.Fatalf("call %d, after the server closed the idle connection: %v, %v", i, res, err)
				}
				time.Sleep(3 * idle)
			}
			// Each call came on a new connection: the server had closed the
			// one before.
			if n := conns.accepted.Load(); n != 3 {
				t.Errorf("%d connections for 3 calls spaced by three idle times, want 3", n)
			}
		})
	}
}

// engines returns Std and, where it runs, Netpoll (the default engine).
func engines() []engine.Engine {
	if engine.Default == engine.Std {
		return []engine.Engine{engine.Std}
	}
	return []engine.Engine{engine.Std, engine.Default}
}
