package kitexgeneric_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	kserver "github.com/cloudwego/kitex/server"

	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/tests/generic/gen/alltypes"
	"github.com/skiffrpc/skiff/tests/generic/gen/base"
	kall "github.com/skiffrpc/skiff/tests/generic/kitex/kitex_gen/alltypes"
	kallsvc "github.com/skiffrpc/skiff/tests/generic/kitex/kitex_gen/alltypes/alltypes"
	kbase "github.com/skiffrpc/skiff/tests/generic/kitex/kitex_gen/base"
)

// kitexIgnores are Kitex's process-wide background goroutines (see
// tests/kitex).
var kitexIgnores = []leaktest.Option{
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/client.(*timeoutPool).createTicker.func1"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/client.(*timeoutPool).createWorker.func1"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/utils.(*SharedTicker).Tick"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/loadbalance/lbcache.(*BalancerFactory).watcher"),
}

func TestMain(m *testing.M) {
	klog.SetLevel(klog.LevelFatal)
	leaktest.VerifyTestMain(m, kitexIgnores...)
}

var quiet = slog.New(slog.DiscardHandler)

const idlPath = "../idl/all.thrift"

// skiffAllTypes is the typed Skiff server; it answers as kitexAllTypes.
type skiffAllTypes struct{}

func (skiffAllTypes) Ping(_ context.Context, msg string) (string, error) { return "pong " + msg, nil }
func (skiffAllTypes) Echo(_ context.Context, req *alltypes.Everything) (*alltypes.Everything, error) {
	return req, nil
}
func (skiffAllTypes) Fail(_ context.Context, req *alltypes.Everything, which int32) (*alltypes.Everything, error) {
	switch which {
	case 1:
		return nil, &alltypes.NotFound{What: req.Id, Code: 404}
	case 2:
		return nil, &alltypes.Invalid{Reason: "bad " + req.Id}
	}
	return req, nil
}
func (skiffAllTypes) Touch(context.Context, int32) error   { return nil }
func (skiffAllTypes) Notify(context.Context, string) error { return nil }
func (skiffAllTypes) Add(_ context.Context, a int32, b int64) (int64, error) {
	return int64(a) + b, nil
}
func (skiffAllTypes) Mid(_ context.Context, a, b *base.Point) (*base.Point, error) {
	return &base.Point{X: (a.X + b.X) / 2, Y: (a.Y + b.Y) / 2}, nil
}
func (skiffAllTypes) Colors(context.Context, int32) ([]base.Color, error) {
	return []base.Color{base.Color_RED, base.Color_BLUE}, nil
}
func (skiffAllTypes) Points(_ context.Context, ps []*base.Point) (map[int32]*base.Point, error) {
	out := map[int32]*base.Point{}
	for i, p := range ps {
		out[int32(i)] = p
	}
	return out, nil
}

func startSkiff(t testing.TB) string {
	t.Helper()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	if err := alltypes.RegisterAllTypes(svr, skiffAllTypes{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr.Addr().String()
}

// kitexAllTypes is the typed Kitex server.
type kitexAllTypes struct{}

func (kitexAllTypes) Ping(_ context.Context, msg string) (string, error) { return "pong " + msg, nil }
func (kitexAllTypes) Echo(_ context.Context, req *kall.Everything) (*kall.Everything, error) {
	return req, nil
}
func (kitexAllTypes) Fail(_ context.Context, req *kall.Everything, which int32) (*kall.Everything, error) {
	switch which {
	case 1:
		return nil, &kall.NotFound{What: req.Id, Code: 404}
	case 2:
		return nil, &kall.Invalid{Reason: "bad " + req.Id}
	}
	return req, nil
}
func (kitexAllTypes) Touch(context.Context, int32) error   { return nil }
func (kitexAllTypes) Notify(context.Context, string) error { return nil }
func (kitexAllTypes) Add(_ context.Context, a int32, b int64) (int64, error) {
	return int64(a) + b, nil
}
func (kitexAllTypes) Mid(_ context.Context, a, b *kbase.Point) (*kbase.Point, error) {
	return &kbase.Point{X: (a.X + b.X) / 2, Y: (a.Y + b.Y) / 2}, nil
}
func (kitexAllTypes) Colors(context.Context, int32) ([]kbase.Color, error) {
	return []kbase.Color{kbase.Color_RED, kbase.Color_BLUE}, nil
}
func (kitexAllTypes) Points(_ context.Context, ps []*kbase.Point) (map[int32]*kbase.Point, error) {
	out := map[int32]*kbase.Point{}
	for i, p := range ps {
		out[int32(i)] = p
	}
	return out, nil
}

// startKitex runs the typed Kitex server on a free loopback port.
func startKitex(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	svr := kallsvc.NewServer(&kitexAllTypes{},
		kserver.WithListener(ln),
		kserver.WithMetaHandler(transmeta.ServerTTHeaderHandler),
		kserver.WithExitWaitTime(100*time.Millisecond),
		kserver.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "AllTypes"}))
	done := make(chan error, 1)
	go func() { done <- svr.Run() }()
	select {
	case err := <-done:
		t.Fatalf("kitex server: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	t.Cleanup(func() {
		_ = svr.Stop()
		<-done
	})
	// Wait until it accepts.
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kitex server at %s does not accept: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return addr
}

// normalize re-encodes JSON text with sorted object keys.
func normalize(t testing.TB, s string) string {
	t.Helper()
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (skiffAllTypes) Find(_ context.Context, req *alltypes.Lookup) (*alltypes.Found, error) {
	return &alltypes.Found{Id: req.Id}, nil
}

func (kitexAllTypes) Find(_ context.Context, req *kall.Lookup) (*kall.Found, error) {
	return &kall.Found{Id: req.Id}, nil
}
