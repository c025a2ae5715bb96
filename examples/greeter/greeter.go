package greeter

import (
	"context"
	"fmt"
	"io"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	_ "github.com/skiffrpc/skiff/codec-protobuf" // Kitex Protobuf, sniffed by the server
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// Handler implements greeterpb.Greeter.
type Handler struct{}

// SayHello greets once.
func (Handler) SayHello(_ context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	return &greeterpb.HelloReply{Message: "hello, " + req.Name}, nil
}

// LotsOfHellos greets req.Times times.
func (Handler) LotsOfHellos(req *greeterpb.HelloRequest, s stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	for i := range req.Times {
		if err := s.Send(&greeterpb.HelloReply{Message: fmt.Sprintf("hello #%d, %s", i+1, req.Name)}); err != nil {
			return err
		}
	}
	return nil
}

// NewServer returns a started server of Handler on addr. It serves gRPC
// and, on the same port, Kitex Protobuf.
func NewServer(addr string) (*server.Server, error) {
	svr := server.New(server.WithAddress(addr))
	if err := greeterpb.RegisterGreeter(svr, Handler{}); err != nil {
		return nil, err
	}
	return svr, svr.Start()
}

// NewGRPCClient returns a Greeter client speaking gRPC to addr.
func NewGRPCClient(addr string) (*client.Client, *greeterpb.GreeterClient, error) {
	cli, err := client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts(addr),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default),
		client.WithRPCTimeout(5*time.Second))
	if err != nil {
		return nil, nil, err
	}
	return cli, greeterpb.NewGreeterClient(cli), nil
}

// NewKitexProtobufClient returns a Greeter client speaking Kitex Protobuf
// over TTHeader+Framed to addr (unary methods only).
func NewKitexProtobufClient(addr string) (*client.Client, *greeterpb.GreeterClient, error) {
	cli, err := client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts(addr),
		client.WithTransport(ttheader.TTHeaderFramed), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		return nil, nil, err
	}
	return cli, greeterpb.NewGreeterClient(cli), nil
}

// Run calls a Greeter server at addr over gRPC (unary and a server stream)
// and over Kitex Protobuf, writing what it gets to out.
func Run(ctx context.Context, addr string, out io.Writer) error {
	gcli, g, err := NewGRPCClient(addr)
	if err != nil {
		return err
	}
	defer gcli.Close()
	r, err := g.SayHello(ctx, &greeterpb.HelloRequest{Name: "gRPC"})
	if err != nil {
		return fmt.Errorf("gRPC SayHello: %w", err)
	}
	fmt.Fprintf(out, "[grpc] SayHello -> %q\n", r.Message)
	s, err := g.LotsOfHellos(ctx, &greeterpb.HelloRequest{Name: "stream", Times: 3})
	if err != nil {
		return fmt.Errorf("gRPC LotsOfHellos: %w", err)
	}
	for {
		r, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("gRPC LotsOfHellos: %w", err)
		}
		fmt.Fprintf(out, "[grpc] LotsOfHellos -> %q\n", r.Message)
	}

	kcli, k, err := NewKitexProtobufClient(addr)
	if err != nil {
		return err
	}
	defer kcli.Close()
	r, err = k.SayHello(ctx, &greeterpb.HelloRequest{Name: "Kitex Protobuf"})
	if err != nil {
		return fmt.Errorf("Kitex Protobuf SayHello: %w", err)
	}
	fmt.Fprintf(out, "[kitex-protobuf] SayHello -> %q\n", r.Message)
	return nil
}
