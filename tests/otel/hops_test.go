package otel_test

import (
	"context"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	_ "github.com/skiffrpc/skiff/codec-protobuf" // Kitex Protobuf
	_ "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	skiffotel "github.com/skiffrpc/skiff/otel"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// caller makes one call carrying text: "declared" calls the Thrift
// method that throws a declared exception, anything else the echo method.
type caller func(ctx context.Context, text string) error

// stack is one client protocol stack.
type stack struct {
	name   string
	system string // the rpc.system its spans carry
	dial   func(t *testing.T, addr string, opts ...client.Option) caller
}

func thriftTTHeader() stack {
	return stack{name: "thrift-ttheader", system: "thrift", dial: func(t *testing.T, addr string, opts ...client.Option) caller {
		cli := newClient(t, echo.ServiceInfo(), addr, append(opts, client.WithTransport(ttheader.TTHeader))...)
		ec := echo.NewClient(cli)
		return func(ctx context.Context, text string) error {
			if text == "declared" {
				_, err := ec.Fail(ctx, 7)
				return err
			}
			_, err := ec.Echo(ctx, &echo.EchoRequest{Message: text})
			return err
		}
	}}
}

func protoStack(name, system string, transport ...client.Option) stack {
	return stack{name: name, system: system, dial: func(t *testing.T, addr string, opts ...client.Option) caller {
		cli := newClient(t, greeterpb.GreeterServiceInfo(), addr, append(opts, transport...)...)
		gc := greeterpb.NewGreeterSkiffClient(cli)
		return func(ctx context.Context, text string) error {
			_, err := gc.SayHello(ctx, &greeterpb.HelloRequest{Name: text})
			return err
		}
	}}
}

func kitexProtobuf() stack {
	return protoStack("kitex-protobuf", "kitex_protobuf", client.WithTransport(ttheader.TTHeaderFramed))
}

func grpcStack() stack {
	return protoStack("grpc", "grpc", client.WithStreamTransport(newH2()), client.WithStreamCodec(grpcDefault))
}

// newH2 and grpcDefault are the gRPC client stack's parts.
var (
	newH2       = func() *h2transport.Protocol { return h2transport.New() }
	grpcDefault = grpccodec.Default
)

// newClient returns a client of svc calling addr.
func newClient(t *testing.T, svc *service.Info, addr string, opts ...client.Option) *client.Client {
	t.Helper()
	cli, err := client.New(svc, append([]client.Option{client.WithHostPorts(addr), client.WithLogger(quiet),
		client.WithRPCTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// act is what the last hop does for a request text: "ok" answers,
// "declared" throws the declared exception, "biz" returns a business
// error, "internal" fails, "sleep" outlasts the caller's timeout.
func act(ctx context.Context, text string) error {
	switch text {
	case "declared":
		return &echo.EchoError{Code: 7, Reason: "requested failure"}
	case "biz":
		return status.NewBizError(4001, "quota used up")
	case "internal":
		return status.New(status.Internal, "broken")
	case "sleep":
		select {
		case <-time.After(400 * time.Millisecond):
		case <-ctx.Done(): // the deadline the caller sent
			return status.Convert(ctx.Err())
		}
	}
	return nil
}

// hop serves the echo and greeter services: it forwards each request to
// down when it has one, and acts on it otherwise.
type hop struct{ down caller }

func (h hop) do(ctx context.Context, text string) error {
	if h.down != nil {
		return h.down(ctx, text)
	}
	return act(ctx, text)
}

func (h hop) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	if err := h.do(ctx, req.Message); err != nil {
		return nil, err
	}
	return &echo.EchoResponse{Message: req.Message}, nil
}

func (h hop) Fail(ctx context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, h.do(ctx, "declared")
}

func (h hop) Notify(context.Context, string) error { return nil }

func (h hop) SayHello(ctx context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	if err := h.do(ctx, req.Name); err != nil {
		return nil, err
	}
	return &greeterpb.HelloReply{Message: req.Name}, nil
}

func (h hop) LotsOfHellos(req *greeterpb.HelloRequest, ss stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	for i := 0; i < 3; i++ {
		if err := ss.Send(&greeterpb.HelloReply{Message: req.Name}); err != nil {
			return err
		}
	}
	return nil
}

// startHop starts a server on loopback serving both services with h (every
// transport, sniffed on one port).
func startHop(t *testing.T, h hop, opts ...server.Option) string {
	t.Helper()
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, opts...)...)
	if err := svr.RegisterService(echo.ServiceInfo(), h); err != nil {
		t.Fatal(err)
	}
	if err := greeterpb.RegisterGreeter(svr, h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr.Addr().String()
}

// chain starts C and B (which calls C) instrumented with tel, and returns
// A's caller of B.
func chain(t *testing.T, st stack, tel *telemetry) caller {
	t.Helper()
	suite := server.WithSuite(skiffotel.NewServerSuite(tel.opts()...))
	cAddr := startHop(t, hop{}, suite)
	toC := st.dial(t, cAddr, client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)))
	bAddr := startHop(t, hop{down: toC}, suite)
	return st.dial(t, bAddr, client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)))
}
