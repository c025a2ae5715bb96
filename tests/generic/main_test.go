package generictest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/generic"
	"github.com/skiffrpc/skiff/tests/generic/gen/alltypes"
	"github.com/skiffrpc/skiff/tests/generic/gen/base"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// thriftTransports are the framed transports a Thrift client may use.
var thriftTransports = []transport.Protocol{ttheader.TTHeader, ttheader.TTHeaderFramed, transport.Framed, thriftcodec.Buffered}

// counter is a server middleware that counts the calls reaching the
// server.
type counter struct{ n atomic.Int64 }

func (c *counter) middleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		c.n.Add(1)
		return next(ctx, req, resp)
	}
}

// startServer starts a server on 127.0.0.1 with register's services and
// stops it at cleanup.
func startServer(t testing.TB, register func(*server.Server) error, opts ...server.Option) *server.Server {
	t.Helper()
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, opts...)...)
	if err := register(svr); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr
}

// allTypes is the typed AllTypes server.
type allTypes struct {
	mu      sync.Mutex
	touched []int32
	notes   chan string
}

func newAllTypes() *allTypes { return &allTypes{notes: make(chan string, 16)} }

func (h *allTypes) Ping(_ context.Context, msg string) (string, error) { return "pong " + msg, nil }

func (h *allTypes) Echo(_ context.Context, req *alltypes.Everything) (*alltypes.Everything, error) {
	return req, nil
}

func (h *allTypes) Fail(_ context.Context, req *alltypes.Everything, which int32) (*alltypes.Everything, error) {
	switch which {
	case 1:
		return nil, &alltypes.NotFound{What: req.Id, Code: 404}
	case 2:
		return nil, &alltypes.Invalid{Reason: "bad " + req.Id}
	}
	return req, nil
}

func (h *allTypes) Touch(_ context.Context, n int32) error {
	h.mu.Lock()
	h.touched = append(h.touched, n)
	h.mu.Unlock()
	return nil
}

func (h *allTypes) Notify(_ context.Context, msg string) error {
	h.notes <- msg
	return nil
}

func (h *allTypes) Add(_ context.Context, a int32, b int64) (int64, error) { return int64(a) + b, nil }

func (h *allTypes) Mid(_ context.Context, a, b *base.Point) (*base.Point, error) {
	return &base.Point{X: (a.X + b.X) / 2, Y: (a.Y + b.Y) / 2}, nil
}

func (h *allTypes) Colors(context.Context, int32) ([]base.Color, error) {
	return []base.Color{base.Color_RED, base.Color_BLUE}, nil
}

func (h *allTypes) Points(_ context.Context, ps []*base.Point) (map[int32]*base.Point, error) {
	out := map[int32]*base.Point{}
	for i, p := range ps {
		out[int32(i)] = p
	}
	return out, nil
}

func startAllTypes(t testing.TB, opts ...server.Option) (*server.Server, *allTypes) {
	h := newAllTypes()
	svr := startServer(t, func(s *server.Server) error { return alltypes.RegisterAllTypes(s, h) }, opts...)
	return svr, h
}

func loadIDL(t testing.TB) *generic.ThriftIDL {
	t.Helper()
	idl, err := generic.LoadThriftFile("idl/all.thrift")
	if err != nil {
		t.Fatal(err)
	}
	return idl
}

// newGenericClient returns a generic client of service at addr, closed at
// cleanup.
func newGenericClient(t testing.TB, service string, g *generic.Generic, addr string, opts ...client.Option) *generic.Client {
	t.Helper()
	cli, err := generic.NewClient(service, g, append([]client.Option{client.WithHostPorts(addr), client.WithLogger(quiet),
		client.WithRPCTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// normalize re-encodes JSON text with sorted object keys and numbers as
// written.
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

func (h *allTypes) Find(_ context.Context, req *alltypes.Lookup) (*alltypes.Found, error) {
	if req.Id == 0 {
		return nil, &alltypes.NotFound{What: "thing 0", Code: 404}
	}
	return &alltypes.Found{Id: req.Id, Q: req.Q, Tags: req.Tags, Token: req.Token, Code: 201, Inner: req.Inner,
		Note: req.Note, Color: req.Color, At: req.At}, nil
}
