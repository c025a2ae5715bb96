package otelexample

import (
	"context"
	"fmt"
	"log/slog"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	skiffotel "github.com/skiffrpc/skiff/otel"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// frontend is the echo service: it greets through the backend.
type frontend struct {
	greeter *greeterpb.GreeterSkiffClient
	log     *slog.Logger
}

func (f *frontend) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	// The context carries the server span: the log record gets its ids,
	// and the call below is its child.
	f.log.InfoContext(ctx, "echo", "message", req.Message)
	reply, err := f.greeter.SayHello(ctx, &greeterpb.HelloRequest{Name: req.Message})
	if err != nil {
		return nil, err
	}
	return &echo.EchoResponse{Message: reply.Message}, nil
}

func (f *frontend) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

func (f *frontend) Notify(context.Context, string) error { return nil }

// backend is the Greeter service.
type backend struct{}

func (backend) SayHello(_ context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	return &greeterpb.HelloReply{Message: "hello, " + req.Name}, nil
}

func (backend) LotsOfHellos(req *greeterpb.HelloRequest, ss stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	return ss.Send(&greeterpb.HelloReply{Message: "hello, " + req.Name})
}

// system is the two services and a client of the frontend, instrumented
// with opts.
type system struct {
	servers []*server.Server
	clients []*client.Client
	echo    *echo.Client
}

// start starts the backend and the frontend on loopback and returns a
// client of the frontend. log is the frontend handler's logger.
func start(log *slog.Logger, opts ...skiffotel.Option) (*system, error) {
	s := &system{}
	back := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(log),
		server.WithSuite(skiffotel.NewServerSuite(opts...)))
	if err := greeterpb.RegisterGreeter(back, backend{}); err != nil {
		return nil, err
	}
	if err := back.Start(); err != nil {
		return nil, err
	}
	s.servers = append(s.servers, back)

	gcli, err := client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts(back.Addr().String()),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default),
		client.WithSuite(skiffotel.NewClientSuite(opts...)))
	if err != nil {
		s.stop()
		return nil, err
	}
	s.clients = append(s.clients, gcli)

	front := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(log),
		server.WithSuite(skiffotel.NewServerSuite(opts...)))
	if err := front.RegisterService(echo.ServiceInfo(), &frontend{greeter: greeterpb.NewGreeterSkiffClient(gcli), log: log}); err != nil {
		s.stop()
		return nil, err
	}
	if err := front.Start(); err != nil {
		s.stop()
		return nil, err
	}
	s.servers = append(s.servers, front)

	ecli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(front.Addr().String()),
		client.WithTransport(ttheader.TTHeader), client.WithSuite(skiffotel.NewClientSuite(opts...)))
	if err != nil {
		s.stop()
		return nil, err
	}
	s.clients = append(s.clients, ecli)
	s.echo = echo.NewClient(ecli)
	return s, nil
}

// call makes one call through both services.
func (s *system) call(ctx context.Context, text string) error {
	resp, err := s.echo.Echo(ctx, &echo.EchoRequest{Message: text})
	if err != nil {
		return err
	}
	if resp.Message != "hello, "+text {
		return fmt.Errorf("unexpected reply %q", resp.Message)
	}
	return nil
}

// stop closes the clients, then stops the servers (their spans have all
// ended once Stop returns).
func (s *system) stop() {
	for _, c := range s.clients {
		_ = c.Close()
	}
	for i := len(s.servers) - 1; i >= 0; i-- {
		_ = s.servers[i].Stop()
	}
}
