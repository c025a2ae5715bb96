package retry_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	_ "github.com/skiffrpc/skiff/codec-protobuf" // Kitex Protobuf, sniffed by the server
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	"github.com/skiffrpc/skiff/retry"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// hit is one request a server saw.
type hit struct {
	server int
	text   string
	conn   string // the client's address: one per connection
	marked bool   // it carried the retry marker
}

// hits records the requests of the servers sharing it.
type hits struct {
	mu   sync.Mutex
	list []hit
}

func (h *hits) add(x hit) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.list = append(h.list, x)
	return len(h.list)
}

func (h *hits) all() []hit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hit(nil), h.list...)
}

func (h *hits) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.list)
}

// behaviour answers a request: n is the hit's number over every server
// sharing the record.
type behaviour func(ctx context.Context, n int, h hit) (string, error)

type echoImpl struct {
	id  int
	rec *hits
	do  behaviour
}

func (e *echoImpl) serve(ctx context.Context, text string) (string, error) {
	x := hit{server: e.id, text: text, marked: retry.IsRetryRequest(ctx)}
	if ci := callinfo.From(ctx); ci != nil && ci.RemoteAddr != nil {
		x.conn = ci.RemoteAddr.String()
	}
	n := e.rec.add(x)
	if e.do == nil {
		return text, nil
	}
	return e.do(ctx, n, x)
}

func (e *echoImpl) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	out, err := e.serve(ctx, req.Message)
	if err != nil {
		return nil, err
	}
	return &echo.EchoResponse{Message: out}, nil
}

func (e *echoImpl) Fail(ctx context.Context, code int32) (*echo.EchoResponse, error) {
	out, err := e.serve(ctx, "fail")
	if err != nil {
		return nil, err
	}
	return &echo.EchoResponse{Message: out}, nil
}

func (e *echoImpl) Notify(context.Context, string) error { return nil }

func (e *echoImpl) SayHello(ctx context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	out, err := e.serve(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return &greeterpb.HelloReply{Message: out}, nil
}

func (e *echoImpl) LotsOfHellos(*greeterpb.HelloRequest, stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	return nil
}

// startServer starts a server on 127.0.0.1 serving the Thrift echo
// service and the protobuf Greeter (TTHeader and gRPC sniffed on one
// port); each request is recorded as a hit of server id, then answered by
// do (nil: echo the text).
func startServer(t *testing.T, id int, rec *hits, do behaviour) string {
	t.Helper()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	impl := &echoImpl{id: id, rec: rec, do: do}
	if err := svr.RegisterService(echo.ServiceInfo(), impl); err != nil {
		t.Fatal(err)
	}
	if err := greeterpb.RegisterGreeter(svr, impl); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr.Addr().String()
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// caller makes one call carrying text and returns the reply's text.
type caller func(ctx context.Context, text string, opts ...client.CallOption) (string, error)

// stack is one client protocol stack; method is the name its calls use.
type stack struct {
	name   string
	method string
	dial   func(t *testing.T, opts ...client.Option) caller
}

// ttheaderStack calls EchoService.Echo over TTHeader (Thrift).
func ttheaderStack(extra ...client.Option) stack {
	return stack{name: "ttheader", method: "Echo", dial: func(t *testing.T, opts ...client.Option) caller {
		t.Helper()
		all := append([]client.Option{client.WithLogger(quiet), client.WithTransport(ttheader.TTHeader)}, extra...)
		cli, err := client.New(echo.ServiceInfo(), append(all, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cli.Close() })
		ec := echo.NewClient(cli)
		return func(ctx context.Context, text string, opts ...client.CallOption) (string, error) {
			resp, err := ec.Echo(ctx, &echo.EchoRequest{Message: text}, opts...)
			if err != nil {
				return "", err
			}
			return resp.Message, nil
		}
	}}
}

// grpcStack calls Greeter.SayHello over gRPC (HTTP/2).
func grpcStack() stack {
	return stack{name: "grpc", method: "SayHello", dial: func(t *testing.T, opts ...client.Option) caller {
		t.Helper()
		all := []client.Option{client.WithLogger(quiet), client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default)}
		cli, err := client.New(greeterpb.GreeterServiceInfo(), append(all, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cli.Close() })
		gc := greeterpb.NewGreeterSkiffClient(cli)
		return func(ctx context.Context, text string, opts ...client.CallOption) (string, error) {
			resp, err := gc.SayHello(ctx, &greeterpb.HelloRequest{Name: text}, opts...)
			if err != nil {
				return "", err
			}
			return resp.Message, nil
		}
	}}
}

func stacks() []stack { return []stack{ttheaderStack(), grpcStack()} }

// sleep waits d or until ctx ends, and reports whether ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-ctx.Done():
		return true
	}
}
