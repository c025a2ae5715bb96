package h2transport_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// testServer serves HTTP/2 with a protocol on a real engine on loopback.
type testServer struct {
	addr  string
	proto *h2transport.Protocol
	srv   engine.Server
	h     func(stream.RawServerStream)

	mu    sync.Mutex
	conns map[stream.ServerConn]struct{}
	errs  []error
	wg    sync.WaitGroup
}

func (s *testServer) OnConnect(ctx context.Context, c engine.Conn) context.Context { return ctx }

func (s *testServer) OnRequest(ctx context.Context, c engine.Conn) error {
	sc, err := s.proto.NewServerConn(c, stream.ServerConnParams{Handler: s.h})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	err = sc.Serve()
	s.mu.Lock()
	delete(s.conns, sc)
	if err != nil {
		s.errs = append(s.errs, err)
	}
	s.mu.Unlock()
	return net.ErrClosed
}

func (s *testServer) OnDisconnect(ctx context.Context, c engine.Conn) {}

// shutdownConns gracefully shuts every server connection down.
func (s *testServer) shutdownConns(ctx context.Context) error {
	s.mu.Lock()
	var scs []stream.ServerConn
	for sc := range s.conns {
		scs = append(scs, sc)
	}
	s.mu.Unlock()
	var first error
	for _, sc := range scs {
		if err := sc.Shutdown(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *testServer) serveErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

type serverConfig struct {
	eng  engine.Engine
	tls  *tls.Config
	opts []h2transport.Option
}

func startServer(t testing.TB, h func(stream.RawServerStream), cfg serverConfig) *testServer {
	t.Helper()
	eng := cfg.eng
	if eng == nil {
		eng = engine.Default
	}
	if cfg.tls != nil {
		eng = engine.Std
	}
	s := &testServer{proto: h2transport.New(cfg.opts...), h: h, conns: map[stream.ServerConn]struct{}{}}
	srv, err := eng.NewServer(engine.ServerParams{Handler: s})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := eng.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	if cfg.tls != nil {
		ln = tls.NewListener(ln, cfg.tls)
	}
	s.srv = srv
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.mu.Lock()
		for sc := range s.conns {
			_ = sc.Close()
		}
		s.mu.Unlock()
		_ = srv.Shutdown(ctx)
		s.wg.Wait()
	})
	return s
}

// dial opens a client connection to addr.
func dial(t testing.TB, addr string, opts ...h2transport.Option) stream.ClientConn {
	t.Helper()
	return dialWith(t, engine.Default, addr, opts...)
}

// dialWith opens a client connection to addr on eng.
func dialWith(t testing.TB, eng engine.Engine, addr string, opts ...h2transport.Option) stream.ClientConn {
	t.Helper()
	c, err := eng.Dial("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := h2transport.New(opts...).NewClientConn(c, stream.ClientConnParams{Authority: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// echoHandler sends the request body back with a trailer.
func echoHandler(s stream.RawServerStream) {
	if err := s.WriteHeader(stream.Header{{Name: "content-type", Value: "application/test"}}); err != nil {
		s.Reset(stream.CodeInternal)
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				s.Reset(stream.CodeInternal)
				return
			}
			if werr := s.Flush(); werr != nil {
				s.Reset(stream.CodeInternal)
				return
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			s.Reset(stream.CodeInternal)
			return
		}
	}
	_ = s.Close(stream.Header{{Name: "x-status", Value: "ok"}, {Name: "x-path", Value: s.Header().Get(":path")}})
}

// call sends body on a new stream and returns the response body and trailer.
func call(ctx context.Context, cc stream.ClientConn, path string, body []byte) ([]byte, stream.Header, stream.Header, error) {
	cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: path}, {Name: "content-type", Value: "application/test"}})
	if err != nil {
		return nil, nil, nil, err
	}
	// Send while reading: an echo of more than the windows would block.
	werr := make(chan error, 1)
	go func() {
		if _, err := cs.Write(body); err != nil {
			werr <- err
			return
		}
		werr <- cs.CloseSend()
	}()
	defer func() { <-werr }()
	h, err := cs.Header()
	if err != nil {
		return nil, nil, nil, err
	}
	out, err := io.ReadAll(cs)
	if err != nil {
		return nil, h, nil, err
	}
	return out, h, cs.Trailer(), nil
}
