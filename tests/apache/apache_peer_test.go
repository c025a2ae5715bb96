package apache_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"

	gen "github.com/skiffrpc/skiff/tests/apache/gen-go/echo"
)

// apacheConf is the configuration both Apache peers use: strict Binary
// protocol both ways, loopback timeouts.
var apacheConf = &thrift.TConfiguration{
	ConnectTimeout:     2 * time.Second,
	SocketTimeout:      5 * time.Second,
	TBinaryStrictRead:  thrift.BoolPtr(true),
	TBinaryStrictWrite: thrift.BoolPtr(true),
}

// apacheTransport is one of Apache Thrift's two unheadered transports.
type apacheTransport struct {
	name string
	// client wraps a socket for a client.
	client func(thrift.TTransport) thrift.TTransport
	// factory wraps accepted sockets for a server.
	factory func() thrift.TTransportFactory
}

var (
	apacheFramed = apacheTransport{
		name: "framed",
		client: func(t thrift.TTransport) thrift.TTransport {
			return thrift.NewTFramedTransportConf(t, apacheConf)
		},
		factory: func() thrift.TTransportFactory {
			return thrift.NewTFramedTransportFactoryConf(thrift.NewTTransportFactory(), apacheConf)
		},
	}
	apacheBuffered = apacheTransport{
		name: "buffered",
		client: func(t thrift.TTransport) thrift.TTransport {
			return thrift.NewTBufferedTransport(t, 4096)
		},
		factory: func() thrift.TTransportFactory {
			return thrift.NewTBufferedTransportFactory(4096)
		},
	}
	apacheTransports = []apacheTransport{apacheFramed, apacheBuffered}
)

// newApacheClient dials addr with an Apache Thrift client over tr and the
// strict Binary protocol. The connection is closed when the test ends.
func newApacheClient(t testing.TB, addr string, tr apacheTransport) *gen.EchoServiceClient {
	t.Helper()
	trans := tr.client(thrift.NewTSocketConf(addr, apacheConf))
	if err := trans.Open(); err != nil {
		t.Fatalf("apache %s client: open %s: %v", tr.name, addr, err)
	}
	t.Cleanup(func() { trans.Close() })
	pf := thrift.NewTBinaryProtocolFactoryConf(apacheConf)
	return gen.NewEchoServiceClientFactory(trans, pf)
}

// apacheHandler is the Apache server's implementation of the IDL service. It
// implements Echo, Fail and Notify like the Skiff example service does.
type apacheHandler struct {
	notified chan string
}

var _ gen.EchoService = (*apacheHandler)(nil)

func newApacheHandler() *apacheHandler {
	return &apacheHandler{notified: make(chan string, 16)}
}

func (h *apacheHandler) Echo(_ context.Context, req *gen.EchoRequest) (*gen.EchoResponse, error) {
	return &gen.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}, nil
}

func (h *apacheHandler) Fail(_ context.Context, code int32) (*gen.EchoResponse, error) {
	return nil, &gen.EchoError{Code: code, Reason: "failed on purpose"}
}

func (h *apacheHandler) Notify(_ context.Context, message string) error {
	h.notified <- message
	return nil
}

func (h *apacheHandler) Missing(_ context.Context, req *gen.EchoRequest) (*gen.EchoResponse, error) {
	return nil, thrift.NewTApplicationException(thrift.INTERNAL_ERROR, "Missing is not served")
}

// startApacheServer runs an Apache TSimpleServer on a free loopback port,
// serving h over tr with the strict Binary protocol, and returns its
// address. The server stops when the test ends (after the test's own
// clients, registered later, have closed).
func startApacheServer(t testing.TB, tr apacheTransport, h gen.EchoService) string {
	t.Helper()
	ss, err := thrift.NewTServerSocketTimeout("127.0.0.1:0", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.Listen(); err != nil {
		t.Fatalf("apache server: listen: %v", err)
	}
	srv := thrift.NewTSimpleServer4(gen.NewEchoServiceProcessor(h), ss, tr.factory(),
		thrift.NewTBinaryProtocolFactoryConf(apacheConf))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(); err != nil {
			t.Errorf("apache server: serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		srv.Stop()
		wg.Wait()
	})
	return ss.Addr().String()
}

// sampleRequest has every field set: non-ASCII text, a sequence number, a
// map and bytes that are not valid UTF-8.
func sampleRequest() *gen.EchoRequest {
	return &gen.EchoRequest{
		Message: "héllo, 世界 ✓",
		Seq:     thrift.Int64Ptr(1<<40 + 7),
		Extra:   map[string]string{"k1": "v1", "ключ": "значение", "": "empty key"},
		Blob:    []byte{0x00, 0x7f, 0x80, 0xff},
	}
}

// waitNotified returns the next message a handler saw, or fails after a
// timeout.
func waitNotified(t testing.TB, ch <-chan string) string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("oneway call never reached the handler")
		return ""
	}
}
