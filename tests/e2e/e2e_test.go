package e2e_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
)

func request(i int) *echo.EchoRequest {
	seq := int64(i)
	return &echo.EchoRequest{Message: fmt.Sprintf("hello #%d ☺", i), Seq: &seq,
		Extra: map[string]string{"k": "v"}, Blob: []byte{0, 0x7f, 0x80, 0xff}}
}

func checkEcho(t testing.TB, stub *echo.Client, i int) {
	t.Helper()
	req := request(i)
	resp, err := stub.Echo(context.Background(), req)
	if err != nil {
		t.Errorf("Echo %d: %v", i, err)
		return
	}
	if resp.Message != req.Message || resp.Seq == nil || *resp.Seq != *req.Seq || resp.Extra["k"] != "v" || string(resp.Blob) != string(req.Blob) {
		t.Errorf("Echo %d: got %+v", i, resp)
	}
}

// One port serves Skiff clients on Framed and on Buffered at the same time,
// on both engines.
func TestFramedAndBufferedOnOnePort(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Netpoll, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			svr := startServer(t, &handler{}, server.WithEngine(eng))
			var wg sync.WaitGroup
			for _, tp := range []transport.Protocol{transport.Framed, thriftcodec.Buffered} {
				_, stub := newClient(t, svr.Addr().String(), client.WithTransport(tp), client.WithEngine(eng))
				for g := 0; g < 8; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < 100; i++ {
							checkEcho(t, stub, g*1000+i)
						}
					}()
				}
			}
			wg.Wait()
		})
	}
}

func TestDeclaredExceptionAndOneway(t *testing.T) {
	h := &handler{}
	svr := startServer(t, h)
	for _, tp := range []transport.Protocol{transport.Framed, thriftcodec.Buffered} {
		_, stub := newClient(t, svr.Addr().String(), client.WithTransport(tp))
		_, err := stub.Fail(context.Background(), 7)
		var ee *echo.EchoError
		if !errors.As(err, &ee) || ee.Code != 7 {
			t.Fatalf("%s Fail: %v", tp.Name(), err)
		}
		if err := stub.Notify(context.Background(), tp.Name()); err != nil {
			t.Fatal(err)
		}
		checkEcho(t, stub, 1) // the connection survives a oneway call
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.notes)
		h.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("oneway notes: %d of 2 arrived", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A handler that sleeps past the client's RPC timeout yields a timeout
// error in about that time, and the pool does not hand out that
// connection again.
func TestRPCTimeout(t *testing.T) {
	h := &handler{delay: 400 * time.Millisecond}
	svr := startServer(t, h)
	_, stub := newClient(t, svr.Addr().String(), client.WithRPCTimeout(100*time.Millisecond))
	checkEcho(t, stub, 0)
	t0 := time.Now()
	_, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "slow"})
	el := time.Since(t0)
	if !errors.Is(err, status.ErrTimeout) || status.CodeOf(err) != status.DeadlineExceeded {
		t.Fatalf("want a timeout error, got %v", err)
	}
	if el < 100*time.Millisecond || el > 300*time.Millisecond {
		t.Fatalf("timeout error after %v, want about 100ms", el)
	}
	checkEcho(t, stub, 1)
	if n := h.connCount(); n != 2 {
		t.Fatalf("server saw %d connections, want 2: the timed-out one must not be reused", n)
	}
}

// With 100 calls in flight, Stop lets all of them finish with a reply, and
// new connections are refused meanwhile.
func TestGracefulShutdown(t *testing.T) {
	h := &handler{gate: make(chan struct{})}
	h.in.Add(100)
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithExitWaitTime(10*time.Second))
	if err := svr.RegisterService(echo.ServiceInfo(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	addr := svr.Addr().String()
	_, stub := newClient(t, addr, client.WithLongConnection(client.PoolConfig{MaxIdlePerAddress: 100, MaxIdleGlobal: 100}))
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		go func() {
			resp, err := stub.Echo(context.Background(), request(i))
			if err == nil && resp.Message != request(i).Message {
				err = fmt.Errorf("call %d: wrong reply %q", i, resp.Message)
			}
			errs <- err
		}()
	}
	h.in.Wait() // all 100 are inside the handler
	stopped := make(chan error, 1)
	go func() { stopped <- svr.Stop() }()
	time.Sleep(100 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c.Close()
		t.Error("a new connection was accepted while shutting down")
	}
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned before in-flight calls finished: %v", err)
	default:
	}
	close(h.gate)
	for i := 0; i < 100; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// The Invoker (SDK mode) answers request bytes exactly as the network path
// does: Kitex's Framed capture of Echo (seq 1) and Fail(7) (seq 2) goes
// through both.
func TestInvokerMatchesNetwork(t *testing.T) {
	inv := server.NewInvoker(server.WithLogger(quiet))
	if err := inv.RegisterService(echo.ServiceInfo(), &handler{}); err != nil {
		t.Fatal(err)
	}
	req, err := os.ReadFile("../testdata/kitex/thrift-framed.c2s.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := inv.Call(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	svr := startServer(t, &handler{})
	c := dial(t, svr.Addr().String())
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	want := make([]byte, len(got))
	if _, err := io.ReadFull(c, want); err != nil {
		t.Fatalf("network reply: %v", err)
	}
	// Map order is random in Go, so compare decoded replies, not bytes.
	if g, w := decodeReplies(t, got), decodeReplies(t, want); !reflect.DeepEqual(g, w) {
		t.Fatalf("Invoker replies differ from the network's\ngot  %+v\nwant %+v", g, w)
	}
	// And both decode to what Kitex's server answered.
	kitex, err := os.ReadFile("../testdata/kitex/thrift-framed.s2c.bin")
	if err != nil {
		t.Fatal(err)
	}
	if g, k := decodeReplies(t, got), decodeReplies(t, kitex); !reflect.DeepEqual(g, k) {
		t.Fatalf("replies differ from Kitex's\ngot   %+v\nkitex %+v", g, k)
	}
}

type reply struct {
	Type   codec.MessageType
	SeqID  int32
	Method string
	Result any
}

// decodeReplies decodes a stream of Framed echo replies.
func decodeReplies(t *testing.T, b []byte) []reply {
	t.Helper()
	var out []reply
	for len(b) > 0 {
		n := int(binary.BigEndian.Uint32(b))
		msg := &codec.Message{}
		off, err := thriftcodec.Codec.DecodeEnvelope(b[4:4+n], msg)
		if err != nil {
			t.Fatal(err)
		}
		msg.Payload = echo.ServiceInfo().Method(msg.Method).NewResult()
		if err := thriftcodec.Codec.DecodePayload(b[4+off:4+n], msg); err != nil {
			t.Fatal(err)
		}
		out = append(out, reply{msg.Type, msg.SeqID, msg.Method, msg.Payload})
		b = b[4+n:]
	}
	return out
}
