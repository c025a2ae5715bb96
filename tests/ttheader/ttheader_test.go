package ttheader_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// hopHandler is an echo service whose Echo runs fn.
type hopHandler struct {
	fn func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error)
}

func (h hopHandler) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return h.fn(ctx, req)
}

func (hopHandler) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}
func (hopHandler) Notify(context.Context, string) error { return nil }

func startB(b *testing.B) string { return start(b, hopHandler{echoBack}) }

func start(t testing.TB, h echo.EchoService) string {
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

func dial(t testing.TB, addr string, opts ...client.Option) *echo.Client {
	t.Helper()
	cli, err := client.New(echo.ServiceInfo(), append([]client.Option{client.WithHostPorts(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return echo.NewClient(cli)
}

func echoBack(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message}, nil
}

// One port answers TTHeader, TTHeader+Framed, Framed and Buffered clients.
func TestOnePortAllTransports(t *testing.T) {
	addr := start(t, hopHandler{echoBack})
	for _, tp := range []transport.Protocol{ttheader.TTHeader, ttheader.TTHeaderFramed, transport.Framed, thriftcodec.Buffered} {
		stub := dial(t, addr, client.WithTransport(tp))
		for i := 0; i < 3; i++ {
			resp, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: tp.Name()})
			if err != nil || resp.Message != tp.Name() {
				t.Fatalf("%s: %v %v", tp.Name(), resp, err)
			}
		}
	}
}

// A → B → C over TTHeader: caller names arrive, a transient value reaches
// only B, a persistent one reaches C, a backward value from B reaches A,
// A's deadline bounds C, and a business error from C reaches A intact.
func TestThreeHops(t *testing.T) {
	type seen struct {
		caller, callerMethod, transient, persistent string
		left                                        time.Duration
	}
	cSeen := make(chan seen, 1)
	c := start(t, hopHandler{func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
		tv, _ := metainfo.GetValue(ctx, "tk")
		pv, _ := metainfo.GetPersistentValue(ctx, "pk")
		d, _ := ctx.Deadline()
		ci := callinfo.From(ctx)
		cSeen <- seen{ci.Caller, ci.CallerMethod, tv, pv, time.Until(d)}
		if req.Message == "biz" {
			return nil, &status.BizError{Code: 4001, Message: "quota exceeded", Extra: map[string]string{"retry": "no"}}
		}
		return echoBack(ctx, req)
	}})
	toC := dial(t, c, client.WithTransport(ttheader.TTHeaderFramed), client.WithCaller("svc-b"))
	bSeen := make(chan seen, 1)
	b := start(t, hopHandler{func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
		tv, _ := metainfo.GetValue(ctx, "tk")
		pv, _ := metainfo.GetPersistentValue(ctx, "pk")
		bSeen <- seen{caller: callinfo.From(ctx).Caller, transient: tv, persistent: pv}
		metainfo.SendBackwardValue(ctx, "from-b", "hello A")
		return toC.Echo(ctx, req)
	}})
	toB := dial(t, b, client.WithTransport(ttheader.TTHeader), client.WithCaller("svc-a"))

	ctx := metainfo.WithPersistentValue(metainfo.WithValue(context.Background(), "tk", "t"), "pk", "p")
	ctx = metainfo.WithBackwardValues(ctx)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := toB.Echo(ctx, &echo.EchoRequest{Message: "x"}); err != nil {
		t.Fatal(err)
	}
	if s := <-bSeen; s.caller != "svc-a" || s.transient != "t" || s.persistent != "p" {
		t.Fatalf("B saw %+v", s)
	}
	s := <-cSeen
	// B's client runs inside B's Echo handler, so it names that method.
	if s.caller != "svc-b" || s.callerMethod != "Echo" || s.transient != "" || s.persistent != "p" {
		t.Fatalf("C saw %+v", s)
	}
	if s.left <= 0 || s.left > 3*time.Second {
		t.Fatalf("C's deadline is %v away, want within A's 3s", s.left)
	}
	if v, _ := metainfo.RecvBackwardValue(ctx, "from-b"); v != "hello A" {
		t.Fatalf("backward value at A: %q", v)
	}
	_, err := toB.Echo(ctx, &echo.EchoRequest{Message: "biz"})
	<-bSeen
	<-cSeen
	var be *status.BizError
	if !errors.As(err, &be) || be.Code != 4001 || be.Message != "quota exceeded" || be.Extra["retry"] != "no" {
		t.Fatalf("business error at A: %v", err)
	}
}

// A pooled (ping-pong) client reads the reply's headers into a fresh
// metadata set: keys the request carried must not come back as the reply's
// metadata the server never sent.
func TestReplyMetaIsTheReplys(t *testing.T) {
	addr := start(t, hopHandler{echoBack})
	echoed := make(chan bool, 3)
	mw := func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			callinfo.From(ctx).Request.Set("x-request-only", "1")
			err := next(ctx, req, resp)
			_, ok := callinfo.AttemptFrom(ctx).Response.Get("x-request-only")
			echoed <- ok
			return err
		}
	}
	cli := dial(t, addr, client.WithTransport(ttheader.TTHeader), client.WithInstanceMiddleware(mw),
		client.WithLongConnection(client.PoolConfig{MaxIdlePerAddress: 2}))
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if _, err := cli.Echo(ctx, &echo.EchoRequest{Message: "x"}); err != nil {
			cancel()
			t.Fatal(err)
		}
		cancel()
		if <-echoed {
			t.Fatalf("call %d: the request's metadata came back as the reply's", i)
		}
	}
}
