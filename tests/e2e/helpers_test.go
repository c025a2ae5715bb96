package e2e_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
)

func TestMain(m *testing.M) {
	if addrFile := os.Getenv(benchServerEnv); addrFile != "" {
		runBenchServer(addrFile) // child process of BenchmarkEchoCall/client-only
		return
	}
	leaktest.VerifyTestMain(m)
}

var quiet = slog.New(slog.DiscardHandler)

// handler is the echo service used by these tests. Echo sleeps for
// delay when the message is "slow", and records the connections it saw.
type handler struct {
	delay time.Duration
	gate  chan struct{} // if not nil, Echo waits on it
	in    sync.WaitGroup

	mu    sync.Mutex
	conns map[string]bool
	notes []string
}

func (h *handler) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	h.mu.Lock()
	if h.conns == nil {
		h.conns = map[string]bool{}
	}
	if ci := callinfo.From(ctx); ci != nil && ci.RemoteAddr != nil {
		h.conns[ci.RemoteAddr.String()] = true
	}
	h.mu.Unlock()
	if h.gate != nil {
		h.in.Done()
		<-h.gate
	}
	if req.Message == "slow" {
		time.Sleep(h.delay)
	}
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}, nil
}

func (h *handler) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

func (h *handler) Notify(_ context.Context, msg string) error {
	h.mu.Lock()
	h.notes = append(h.notes, msg)
	h.mu.Unlock()
	return nil
}

func (h *handler) connCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func startServer(t testing.TB, h echo.EchoService, opts ...server.Option) *server.Server {
	t.Helper()
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, opts...)...)
	if err := svr.RegisterService(echo.ServiceInfo(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr
}

func newClient(t testing.TB, addr string, opts ...client.Option) (*client.Client, *echo.Client) {
	t.Helper()
	cli, err := client.New(echo.ServiceInfo(), append([]client.Option{client.WithHostPorts(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli, echo.NewClient(cli)
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newMsg() *codec.Message { return &codec.Message{} }
