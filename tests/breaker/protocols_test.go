package breaker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/breaker"
	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	_ "github.com/skiffrpc/skiff/codec-protobuf" // Kitex Protobuf, sniffed by the server
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// greeter fails SayHello with a handler error ("fail"), a business error
// ("biz"), or answers.
type greeter struct{ hits atomic.Int64 }

func (g *greeter) SayHello(ctx context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	g.hits.Add(1)
	switch req.Name {
	case "fail":
		return nil, errors.New("storage down")
	case "biz":
		return nil, status.NewBizError(7, "not allowed")
	}
	return &greeterpb.HelloReply{Message: req.Name}, nil
}

func (g *greeter) LotsOfHellos(*greeterpb.HelloRequest, stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	return nil
}

// TestProtocols: the service breaker trips on handler failures and not on
// business errors over Kitex Protobuf and gRPC too (the remote error
// kinds survive both protocols).
func TestProtocols(t *testing.T) {
	g := &greeter{}
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithExitWaitTime(time.Second))
	if err := greeterpb.RegisterGreeter(svr, g); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	addr := svr.Addr().String()
	stacks := []struct {
		name string
		opts []client.Option
	}{
		{"kitex-protobuf", []client.Option{client.WithTransport(ttheader.TTHeaderFramed)}},
		{"grpc", []client.Option{client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default)}},
	}
	for _, st := range stacks {
		t.Run(st.name, func(t *testing.T) {
			s := breaker.NewSuite(breaker.WithLogger(quiet),
				breaker.WithServiceConfig(breaker.Config{MinSamples: 10, OpenTimeout: time.Minute}))
			cli, err := client.New(greeterpb.GreeterServiceInfo(), append([]client.Option{client.WithHostPorts(addr),
				client.WithRPCTimeout(3 * time.Second), client.WithLogger(quiet), client.WithSuite(s)}, st.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			gc := greeterpb.NewGreeterSkiffClient(cli)
			for i := range 50 {
				_, err := gc.SayHello(context.Background(), &greeterpb.HelloRequest{Name: "biz"})
				var be *status.BizError
				if !errors.As(err, &be) {
					t.Fatalf("biz call %d: %v", i, err)
				}
			}
			before := g.hits.Load()
			var open int
			for range 30 {
				_, err := gc.SayHello(context.Background(), &greeterpb.HelloRequest{Name: "fail"})
				if errors.Is(err, status.ErrCircuitOpen) {
					open++
				} else if !errors.Is(err, status.ErrRemote) {
					t.Fatalf("failing call: %v", err)
				}
			}
			// 50 business errors are successes: the rate reaches 50 % at 50 failures,
			// so 30 failures do not trip it yet.
			if open != 0 {
				t.Fatalf("tripped after %d failures behind 50 business errors", 30-open)
			}
			for range 40 {
				_, err := gc.SayHello(context.Background(), &greeterpb.HelloRequest{Name: "fail"})
				if errors.Is(err, status.ErrCircuitOpen) {
					open++
				}
			}
			if hits := g.hits.Load() - before; hits != 50 || open != 20 {
				t.Errorf("%d failing calls reached the server (want 50), %d rejected (want 20)", hits, open)
			}
		})
	}
}
