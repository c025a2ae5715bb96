package kitex_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"sync"
	"testing"
	"time"

	kclient "github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/cloudwego/kitex/pkg/remote"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	kserver "github.com/cloudwego/kitex/server"
	ktransport "github.com/cloudwego/kitex/transport"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
	kecho "github.com/skiffrpc/skiff/tests/kitex/kitex_gen/echo"
	"github.com/skiffrpc/skiff/tests/kitex/kitex_gen/echo/echoservice"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

func TestMain(m *testing.M) {
	klog.SetLevel(klog.LevelFatal)
	leaktest.VerifyTestMain(m, kitexIgnores...)
}

// callTimeout bounds every call in these tests.
const callTimeout = 3 * time.Second

// wire is one transport, named the same on both sides.
type wire struct {
	name  string
	skiff transport.Protocol
	// kitex are the Kitex client options that select it: Kitex ORs
	// WithTransportProtocol into its default (Framed since v0.13), and only
	// PurePayload resets the bits, so plain TTHeader needs PurePayload first.
	kitex []kclient.Option
	// meta is true when TTHeader carries metadata.
	meta bool
}

var wires = []wire{
	{"TTHeader", ttheader.TTHeader, []kclient.Option{
		kclient.WithTransportProtocol(ktransport.PurePayload),
		kclient.WithTransportProtocol(ktransport.TTHeader),
	}, true},
	{"TTHeaderFramed", ttheader.TTHeaderFramed, []kclient.Option{
		kclient.WithTransportProtocol(ktransport.TTHeaderFramed),
	}, true},
	{"Framed", transport.Framed, []kclient.Option{
		kclient.WithTransportProtocol(ktransport.Framed),
	}, false},
	{"Buffered", thriftcodec.Buffered, []kclient.Option{
		kclient.WithTransportProtocol(ktransport.PurePayload),
	}, false},
}

// startSkiff runs a Skiff server with h on a free loopback port.
func startSkiff(t *testing.T, h echo.EchoService) string {
	t.Helper()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(slog.New(slog.DiscardHandler)))
	if err := svr.RegisterService(echo.ServiceInfo(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr.Addr().String()
}

// dialSkiff returns a Skiff echo client for addr.
func dialSkiff(t *testing.T, addr string, opts ...client.Option) *echo.Client {
	t.Helper()
	opts = append([]client.Option{
		client.WithHostPorts(addr),
		client.WithCaller("skiff-client"),
		client.WithRPCTimeout(callTimeout),
		client.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	cli, err := client.New(echo.ServiceInfo(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return echo.NewClient(cli)
}

// startKitex runs a Kitex server with h on a free loopback port, with the
// TTHeader meta handler and context timeouts on, and stops it at cleanup.
func startKitex(t *testing.T, h kecho.EchoService, opts ...kserver.Option) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	svr := echoservice.NewServer(h, append([]kserver.Option{
		kserver.WithListener(ln),
		kserver.WithMetaHandler(transmeta.ServerTTHeaderHandler),
		kserver.WithEnableContextTimeout(true),
		kserver.WithExitWaitTime(100 * time.Millisecond),
		kserver.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "EchoService"}),
	}, opts...)...)
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

// kitexClient is a Kitex echo client that can be closed.
type kitexClient struct{ c kclient.Client }

// dialKitex returns a Kitex echo client for addr, named "kitex-client",
// with the TTHeader meta handler on.
func dialKitex(t *testing.T, addr string, w wire, opts ...kclient.Option) kitexClient {
	t.Helper()
	all := []kclient.Option{
		kclient.WithDestService("EchoService"),
		kclient.WithHostPorts(addr),
		kclient.WithClientBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "kitex-client"}),
		kclient.WithMetaHandler(transmeta.ClientTTHeaderHandler),
		kclient.WithRPCTimeout(callTimeout),
	}
	all = append(all, w.kitex...)
	all = append(all, opts...)
	c, err := kclient.NewClient(echoservice.NewServiceInfoForClient(), all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cl, ok := c.(io.Closer); ok {
			_ = cl.Close()
		}
	})
	return kitexClient{c}
}

func (k kitexClient) Echo(ctx context.Context, req *kecho.EchoRequest) (*kecho.EchoResponse, error) {
	args := kecho.EchoServiceEchoArgs{Req: req}
	var res kecho.EchoServiceEchoResult
	if err := k.c.Call(ctx, "Echo", &args, &res); err != nil {
		return nil, err
	}
	return res.GetSuccess(), nil
}

func (k kitexClient) Fail(ctx context.Context, code int32) (*kecho.EchoResponse, error) {
	args := kecho.EchoServiceFailArgs{Code: code}
	var res kecho.EchoServiceFailResult
	if err := k.c.Call(ctx, "Fail", &args, &res); err != nil {
		return nil, err
	}
	if res.Err != nil {
		return nil, res.Err
	}
	return res.GetSuccess(), nil
}

// bounded returns a context that ends the test's call in time.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// replyKeys is a Kitex server meta handler that records the string keys of
// the last reply header, as the handlers before it left them.
type replyKeys struct {
	mu   sync.Mutex
	last map[string]string
}

func (r *replyKeys) WriteMeta(ctx context.Context, msg remote.Message) (context.Context, error) {
	r.mu.Lock()
	r.last = maps.Clone(msg.TransInfo().TransStrInfo())
	r.mu.Unlock()
	return ctx, nil
}

func (r *replyKeys) ReadMeta(ctx context.Context, _ remote.Message) (context.Context, error) {
	return ctx, nil
}

func (r *replyKeys) get() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}
