package kitexpb_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	kclient "github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	kserver "github.com/cloudwego/kitex/server"
	ktransport "github.com/cloudwego/kitex/transport"
	"github.com/cloudwego/prutal"
	"google.golang.org/protobuf/proto"

	_ "github.com/skiffrpc/skiff/codec-protobuf" // registers the "protobuf" codec
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/transport"
	pb "github.com/skiffrpc/skiff/tests/kitexpb/interoppb"
	kpb "github.com/skiffrpc/skiff/tests/kitexpb/kitex_gen/interoppb"
	"github.com/skiffrpc/skiff/tests/kitexpb/kitex_gen/interoppb/interop"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// callTimeout bounds every call in these tests.
const callTimeout = 3 * time.Second

// bounded returns a context that ends the test's call in time.
func bounded(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// skiffImpl is the Skiff Interop service: Echo returns the request and the
// server name "skiff", Ping the empty message, Fail an error with the
// requested reason. Missing is never registered.
type skiffImpl struct {
	echo func(ctx context.Context, req *pb.EchoRequest) (*pb.EchoResponse, error)
}

func (s skiffImpl) Echo(ctx context.Context, req *pb.EchoRequest) (*pb.EchoResponse, error) {
	if s.echo != nil {
		return s.echo(ctx, req)
	}
	return &pb.EchoResponse{Echo: req, Server: "skiff"}, nil
}

func (skiffImpl) Ping(context.Context, *pb.Empty) (*pb.Empty, error) { return &pb.Empty{}, nil }

func (skiffImpl) Fail(_ context.Context, req *pb.FailRequest) (*pb.Empty, error) {
	return nil, errors.New(req.Reason)
}

func (skiffImpl) Missing(context.Context, *pb.Empty) (*pb.Empty, error) {
	return nil, errors.New("Missing must not be served")
}

// kitexImpl is the Kitex Interop service with the same behaviour; its
// server name is "kitex".
type kitexImpl struct {
	echo func(ctx context.Context, req *kpb.EchoRequest) (*kpb.EchoResponse, error)
}

func (k kitexImpl) Echo(ctx context.Context, req *kpb.EchoRequest) (*kpb.EchoResponse, error) {
	if k.echo != nil {
		return k.echo(ctx, req)
	}
	return &kpb.EchoResponse{Echo: req, Server: "kitex"}, nil
}

func (kitexImpl) Ping(context.Context, *kpb.Empty) (*kpb.Empty, error) { return &kpb.Empty{}, nil }

func (kitexImpl) Fail(_ context.Context, req *kpb.FailRequest) (*kpb.Empty, error) {
	return nil, errors.New(req.Reason)
}

func (kitexImpl) Missing(context.Context, *kpb.Empty) (*kpb.Empty, error) {
	return nil, errors.New("Missing must not be served")
}

// serverInfo is the Skiff descriptor without Missing.
func serverInfo() *service.Info {
	info := pb.InteropServiceInfo()
	delete(info.Methods, "Missing")
	return info
}

// startSkiff runs a Skiff server with h on a free loopback port. It serves
// every registered transport; Kitex Protobuf arrives as TTHeader+Framed.
func startSkiff(t testing.TB, h pb.Interop, opts ...server.Option) string {
	t.Helper()
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err := svr.RegisterService(serverInfo(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr.Addr().String()
}

// dialSkiff returns a Skiff Interop client for addr over tp, named
// "skiff-client".
func dialSkiff(t testing.TB, addr string, tp transport.Protocol, opts ...client.Option) *pb.InteropSkiffClient {
	t.Helper()
	opts = append([]client.Option{
		client.WithHostPorts(addr),
		client.WithTransport(tp),
		client.WithCaller("skiff-client"),
		client.WithRPCTimeout(callTimeout),
		client.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	cli, err := client.New(pb.InteropServiceInfo(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return pb.NewInteropSkiffClient(cli)
}

// startKitex runs a Kitex server with h, without the Missing method, on a
// free loopback port, with the TTHeader meta handler and context timeouts
// on, and stops it at cleanup.
func startKitex(t testing.TB, h kpb.Interop, opts ...kserver.Option) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	svr := kserver.NewServer(append([]kserver.Option{
		kserver.WithListener(ln),
		kserver.WithMetaHandler(transmeta.ServerTTHeaderHandler),
		kserver.WithEnableContextTimeout(true),
		kserver.WithExitWaitTime(100 * time.Millisecond),
		kserver.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "Interop"}),
	}, opts...)...)
	info := interop.NewServiceInfo()
	delete(info.Methods, "Missing")
	if err := svr.RegisterService(info, h); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svr.Run() }()
	// Run returns early only when it fails to serve.
	select {
	case err := <-done:
		t.Fatalf("kitex server: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	t.Cleanup(func() {
		_ = svr.Stop()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("kitex server did not stop")
		}
	})
	return addr
}

// dialKitex returns a Kitex Interop client for addr, named "kitex-client",
// with the TTHeader meta handler on. Kitex sends Kitex Protobuf as
// TTHeader+Framed.
func dialKitex(t testing.TB, addr string, opts ...kclient.Option) interop.Client {
	t.Helper()
	all := []kclient.Option{
		kclient.WithHostPorts(addr),
		kclient.WithClientBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "kitex-client"}),
		kclient.WithMetaHandler(transmeta.ClientTTHeaderHandler),
		kclient.WithTransportProtocol(ktransport.TTHeaderFramed),
		kclient.WithRPCTimeout(callTimeout),
	}
	c, err := interop.NewClient("Interop", append(all, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cl, ok := c.(io.Closer); ok {
			_ = cl.Close()
		}
	})
	return c
}

// sample is a request with every field set: nested messages, repeated
// messages, scalars and strings, and two maps.
func sample(seq int64) *pb.EchoRequest {
	return &pb.EchoRequest{
		Message: "hello #0 ☺",
		Seq:     seq,
		Blob:    []byte{0x00, 0x7f, 0x80, 0xff},
		Origin:  &pb.Point{X: -1, Y: 2, Tags: []string{"o"}},
		Path:    []*pb.Point{{X: 1}, {Y: -7, Tags: []string{"a", "b"}}, {}},
		Labels:  map[string]string{"k": "v", "empty": "", "☺": "smile"},
		Points:  map[int32]*pb.Point{0: {}, -5: {X: 5, Y: 6}, 1 << 30: {Tags: []string{"big"}}},
		Numbers: []int64{0, -1, 1, -1 << 62, 1<<63 - 1},
		Kind:    pb.Kind_KIND_LARGE,
		Ratio:   0.25,
	}
}

// toKitex converts a Skiff message to its Kitex type through the wire.
func toKitex[T any](t testing.TB, m proto.Message, out *T) *T {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := prutal.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// fromKitex converts a Kitex message to its Skiff type through the wire.
func fromKitex[M proto.Message](t testing.TB, v any, out M) M {
	t.Helper()
	b, err := prutal.MarshalAppend(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// wires are the transports a Skiff client uses towards a Kitex server:
// TTHeader+Framed (what Kitex sends) and plain Framed (which a Kitex
// server also accepts for Kitex Protobuf).
var wires = []transport.Protocol{ttheader.TTHeaderFramed, transport.Framed}
