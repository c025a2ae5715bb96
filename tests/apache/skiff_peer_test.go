package apache_test

import (
	"context"
	"testing"
	"time"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
)

// skiffImpl is the Skiff server's implementation of the example service.
type skiffImpl struct {
	notified chan string
}

var _ echo.EchoService = (*skiffImpl)(nil)

func newSkiffImpl() *skiffImpl { return &skiffImpl{notified: make(chan string, 16)} }

func (s *skiffImpl) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}, nil
}

func (s *skiffImpl) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "failed on purpose"}
}

func (s *skiffImpl) Notify(_ context.Context, message string) error {
	s.notified <- message
	return nil
}

// startSkiffServer serves impl on a free loopback port with the default
// engine and every registered transport, and returns the address. The
// server stops gracefully when the test ends, after the test's clients
// (registered later) have closed.
func startSkiffServer(t testing.TB, impl echo.EchoService) string {
	t.Helper()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(2*time.Second))
	if err := svr.RegisterService(echo.ServiceInfo(), impl); err != nil {
		t.Fatalf("RegisterService: %v", err)
	}
	if err := svr.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := svr.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return svr.Addr().String()
}

// skiffTransport names a Skiff client transport and its Apache counterpart.
type skiffTransport struct {
	name   string
	proto  transport.Protocol
	apache apacheTransport
}

var skiffTransports = []skiffTransport{
	{"framed", transport.Framed, apacheFramed},
	{"buffered", thriftcodec.Buffered, apacheBuffered},
}

// newSkiffClient returns a Skiff client of the example service that calls
// addr over tr. It is closed when the test ends.
func newSkiffClient(t testing.TB, addr string, tr transport.Protocol) *client.Client {
	t.Helper()
	cli, err := client.New(echo.ServiceInfo(),
		client.WithHostPorts(addr),
		client.WithTransport(tr),
		client.WithRPCTimeout(2*time.Second))
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}
