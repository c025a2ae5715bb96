//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
)

// startEngine serves p with e on a loopback listener until cleanup.
func startEngine(t *testing.T, e engine.Engine, p engine.ServerParams) string {
	t.Helper()
	ln, err := e.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := e.NewServer(p)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// events counts a handler's events for one kind of connection.
type events struct {
	connects, requests, disconnects atomic.Int32
	disconnected                    chan struct{}
	badOrder                        atomic.Bool // OnDisconnect before OnConnect returned, or twice
}

type evCtxKey struct{}

func (ev *events) handler(connect func(c engine.Conn), request func(ctx context.Context, c engine.Conn) error) *stdHandler {
	ev.disconnected = make(chan struct{})
	return &stdHandler{
		connect: func(ctx context.Context, c engine.Conn) context.Context {
			ev.connects.Add(1)
			if connect != nil {
				connect(c)
			}
			return context.WithValue(ctx, evCtxKey{}, "conn")
		},
		request: func(ctx context.Context, c engine.Conn) error {
			ev.requests.Add(1)
			return request(ctx, c)
		},
		disconnect: func(ctx context.Context, c engine.Conn) {
			if ctx.Value(evCtxKey{}) != "conn" || ev.disconnects.Add(1) != 1 {
				ev.badOrder.Store(true)
			}
			close(ev.disconnected)
		},
	}
}

func (ev *events) waitDisconnect(t *testing.T) {
	t.Helper()
	select {
	case <-ev.disconnected:
	case <-time.After(5 * time.Second):
		t.Fatal("no OnDisconnect")
	}
	if ev.badOrder.Load() {
		t.Fatal("OnDisconnect without the OnConnect context, or twice")
	}
}

var testEngines = []engine.Engine{engine.Netpoll, engine.Std}

// OnConnect refuses a connection by closing it: OnRequest never runs, even
// for bytes the client sent at once, nothing is written, and OnDisconnect
// follows.
func TestOnConnectRefuses(t *testing.T) {
	for _, e := range testEngines {
		t.Run(e.Name(), func(t *testing.T) {
			stdLeakCheck(t)
			ev := &events{}
			addr := startEngine(t, e, engine.ServerParams{Handler: ev.handler(
				func(c engine.Conn) {
					time.Sleep(20 * time.Millisecond) // let the client's bytes arrive
					_ = c.Close()
				},
				stdEcho)})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, _ = c.Write([]byte{0, 0, 0, 4, 'p', 'i', 'n', 'g'})
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(c)
			var op *net.OpError
			if len(b) != 0 || (err != nil && (!errors.As(err, &op) || op.Timeout())) {
				t.Fatalf("read %q, %v; want the connection closed with nothing written", b, err)
			}
			ev.waitDisconnect(t)
			if n := ev.requests.Load(); n != 0 {
				t.Fatalf("OnRequest ran %d times for a refused connection", n)
			}
		})
	}
}

// OnDisconnect runs when the server closes a connection (OnRequest fails),
// not only when the peer does.
func TestOnDisconnectAfterServerClose(t *testing.T) {
	for _, e := range testEngines {
		t.Run(e.Name(), func(t *testing.T) {
			stdLeakCheck(t)
			ev := &events{}
			addr := startEngine(t, e, engine.ServerParams{Handler: ev.handler(nil,
				func(_ context.Context, c engine.Conn) error {
					return errors.New("bad request")
				})})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			ev.waitDisconnect(t)
			if ev.connects.Load() != 1 || ev.requests.Load() < 1 {
				t.Fatalf("connects %d, requests %d", ev.connects.Load(), ev.requests.Load())
			}
		})
	}
}

// OnDisconnect runs for the connections Shutdown closes.
func TestOnDisconnectAtShutdown(t *testing.T) {
	for _, e := range testEngines {
		t.Run(e.Name(), func(t *testing.T) {
			stdLeakCheck(t)
			ev := &events{}
			ln, err := e.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv, err := e.NewServer(engine.ServerParams{Handler: ev.handler(nil, stdEcho)})
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			c := dialStd(t, ln.Addr().String())
			stdWriteEcho(t, c, []byte("ping"))
			if err := c.Writer().Flush(); err != nil {
				t.Fatal(err)
			}
			stdReadEcho(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			<-served
			ev.waitDisconnect(t)
		})
	}
}

// A Shutdown right after Serve was called (before the engine took the
// listener) still makes Serve return.
func TestShutdownRightAfterServe(t *testing.T) {
	for _, e := range testEngines {
		t.Run(e.Name(), func(t *testing.T) {
			stdLeakCheck(t)
			for i := range 200 {
				ln, err := e.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				srv, err := e.NewServer(engine.ServerParams{Handler: &stdHandler{request: stdEcho}})
				if err != nil {
					t.Fatal(err)
				}
				served := make(chan error, 1)
				go func() { served <- srv.Serve(ln) }()
				if err := srv.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-served:
					if err != nil {
						t.Fatalf("Serve: %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("iteration %d: Serve did not return after Shutdown", i)
				}
			}
		})
	}
}
