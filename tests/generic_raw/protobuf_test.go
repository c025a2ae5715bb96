package genericraw_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	_ "github.com/skiffrpc/skiff/codec-protobuf" // Kitex Protobuf
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// rawGreeter serves Greeter.SayHello from raw protobuf messages.
func rawGreeter(_ context.Context, _, method string, req []byte) ([]byte, error) {
	if method != "SayHello" {
		return nil, status.Errorf(status.Unimplemented, "raw: no method %s", method)
	}
	var in greeterpb.HelloRequest
	if err := proto.Unmarshal(req, &in); err != nil {
		return nil, status.Errorf(status.InvalidArgument, "raw: %v", err)
	}
	if in.Name == "fail" {
		return nil, status.New(status.FailedPrecondition, "the raw greeter refuses")
	}
	return proto.Marshal(&greeterpb.HelloReply{Message: "raw hello, " + in.Name})
}

// A server with no Greeter serves the typed greeter client through its
// unknown-method handler, over Kitex Protobuf and over gRPC (on one port).
func TestProtobufUnknownMethod(t *testing.T) {
	rec := &recorder{}
	// The server's one service is the Thrift echo: no Greeter.
	svr := startServer(t, echo.ServiceInfo(), echoHandler{}, server.WithEngine(engine.Std),
		server.WithMiddleware(rec.middleware), server.WithTracer(rec), server.WithUnknownMethodHandler(rawGreeter))
	addr := svr.Addr().String()
	for _, tc := range []struct {
		name, service string // the service name the server receives
		dial          func(string) (*client.Client, *greeterpb.GreeterSkiffClient, error)
	}{
		{"kitexpb", "Greeter", greeter.NewKitexProtobufClient},
		{"grpc", "greeter.v1.Greeter", greeter.NewGRPCClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli, g, err := tc.dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			ctx := context.Background()
			r, err := g.SayHello(ctx, &greeterpb.HelloRequest{Name: "proto"})
			if err != nil || r.GetMessage() != "raw hello, proto" {
				t.Fatalf("SayHello: %v %v", r, err)
			}
			want := []string{`mw "` + tc.service + `" "SayHello" *codec.Raw false`, `tracer "` + tc.service + `" "SayHello"`}
			if got := rec.wait(2); !equal(got, want) {
				t.Fatalf("server middleware and tracer saw %q, want %q", got, want)
			}
			_, err = g.SayHello(ctx, &greeterpb.HelloRequest{Name: "fail"})
			if !errors.Is(err, status.ErrRemote) || status.CodeOf(err) != status.FailedPrecondition ||
				status.Convert(err).Message() != "the raw greeter refuses" {
				t.Fatalf("SayHello(fail): %v (code %v)", err, status.CodeOf(err))
			}
			rec.wait(2)
		})
	}
}

// On gRPC, a server without the handler still answers UNIMPLEMENTED.
func TestGRPCUnknownMethodWithoutHandler(t *testing.T) {
	svr := startServer(t, echo.ServiceInfo(), echoHandler{}, server.WithEngine(engine.Std))
	cli, g, err := greeter.NewGRPCClient(svr.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	_, err = g.SayHello(context.Background(), &greeterpb.HelloRequest{Name: "x"})
	if status.CodeOf(err) != status.Unimplemented {
		t.Fatalf("SayHello: %v", err)
	}
}

// genericGreeter is a client descriptor of greeter.v1.Greeter with no
// methods.
func genericGreeter() *service.Info {
	return &service.Info{Name: "Greeter", Package: "greeter.v1", Codec: "protobuf"}
}

// A raw client calls a typed greeter server with a request message it
// encoded itself and gets the response message undecoded, over Kitex
// Protobuf (TTHeader+Framed and Framed) and gRPC.
func TestProtobufRawClient(t *testing.T) {
	svr := startServer(t, greeterpb.GreeterServiceInfo(), greeter.Handler{}, server.WithEngine(engine.Std))
	addr := svr.Addr().String()
	req, err := proto.Marshal(&greeterpb.HelloRequest{Name: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []client.Option
	}{
		{"ttheader-framed", []client.Option{client.WithTransport(ttheader.TTHeaderFramed)}},
		{"framed", []client.Option{client.WithTransport(transport.Framed)}},
		{"grpc", []client.Option{client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := newClient(t, genericGreeter(), addr, append(tc.opts, client.WithRPCTimeout(5*time.Second))...)
			ctx := context.Background()
			var out codec.Raw
			if err := cli.Call(ctx, "SayHello", codec.Raw(req), &out); err != nil {
				t.Fatal(err)
			}
			var r greeterpb.HelloReply
			if err := proto.Unmarshal(out, &r); err != nil || r.GetMessage() != "hello, raw" {
				t.Fatalf("reply %x: %v %v", out, r.GetMessage(), err)
			}
			// A request that is not protobuf is refused by the server's
			// decoder, not handed to the handler.
			err := cli.Call(ctx, "SayHello", codec.Raw{0x0a, 0x7f, 'x'}, &out)
			if !errors.Is(err, status.ErrRemote) {
				t.Fatalf("malformed request: %v", err)
			}
		})
	}
}

// countHook counts the connections a server accepts and closes.
type countHook struct{ accepted, closed atomic.Int32 }

func (h *countHook) Accept(net.Addr) error { h.accepted.Add(1); return nil }
func (h *countHook) Closed(net.Addr)       { h.closed.Add(1) }

// A ConnHook sees the connections of every protocol a port serves.
func TestConnHookSeesEveryProtocol(t *testing.T) {
	hook := &countHook{}
	svr, err := func() (*server.Server, error) {
		s := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithEngine(engine.Std),
			server.WithConnHook(hook))
		if err := greeterpb.RegisterGreeter(s, greeter.Handler{}); err != nil {
			return nil, err
		}
		return s, s.Start()
	}()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	addr := svr.Addr().String()
	for _, dial := range []func(string) (*client.Client, *greeterpb.GreeterSkiffClient, error){greeter.NewKitexProtobufClient, greeter.NewGRPCClient} {
		cli, g, err := dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.SayHello(context.Background(), &greeterpb.HelloRequest{Name: "x"}); err != nil {
			t.Fatal(err)
		}
		_ = cli.Close()
	}
	if err := svr.Stop(); err != nil {
		t.Fatal(err)
	}
	if a, c := hook.accepted.Load(), hook.closed.Load(); a != 2 || c != 2 {
		t.Fatalf("accepted %d, closed %d; want 2 and 2", a, c)
	}
}
