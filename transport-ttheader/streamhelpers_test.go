package ttheader_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stream"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// ttServer serves ttstream with a protocol on the std engine on loopback.
type ttServer struct {
	addr string
	p    *ttheader.StreamProtocol
	h    func(stream.RawServerStream)
	srv  engine.Server

	mu    sync.Mutex
	conns []stream.ServerConn
	wg    sync.WaitGroup
}

func (s *ttServer) OnConnect(ctx context.Context, _ engine.Conn) context.Context { return ctx }
func (s *ttServer) OnDisconnect(context.Context, engine.Conn)                    {}
func (s *ttServer) OnRequest(_ context.Context, c engine.Conn) error {
	if _, err := c.Reader().Peek(8); err != nil {
		return err
	}
	sc, err := s.p.NewServerConn(c, stream.ServerConnParams{Handler: func(rs stream.RawServerStream) {
		s.wg.Add(1)
		defer s.wg.Done()
		s.h(rs)
	}})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.conns = append(s.conns, sc)
	s.mu.Unlock()
	_ = sc.Serve()
	return net.ErrClosed
}

// startTT starts a server; the test's cleanup stops it.
func startTT(t *testing.T, p *ttheader.StreamProtocol, h func(stream.RawServerStream)) *ttServer {
	t.Helper()
	s := &ttServer{p: p, h: h}
	srv, err := engine.Std.NewServer(engine.ServerParams{Handler: s})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := engine.Std.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.srv, s.addr = srv, ln.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		s.mu.Lock()
		for _, c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		s.wg.Wait()
	})
	return s
}

// dialTT opens a client connection to s; the test's cleanup closes it.
func dialTT(t *testing.T, p *ttheader.StreamProtocol, addr string) stream.ClientConn {
	t.Helper()
	c, err := engine.Std.Dial("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := p.NewClientConn(c, stream.ClientConnParams{Authority: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}
