//go:build !windows

package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/cloudwego/netpoll"

	"github.com/skiffrpc/skiff/core/conn"
)

// Netpoll is the engine on Netpoll's event loop: reads are zero-copy slices
// of Netpoll's LinkBuffer, writes are reserved with Malloc and sent with one
// flush. It is the Default engine where Netpoll runs.
var Netpoll Engine = npEngine{}

var _ ListenerChecker = npEngine{}

type npEngine struct{}

func (npEngine) Name() string { return "netpoll" }

func (npEngine) Listen(network, address string) (net.Listener, error) {
	return netpoll.CreateListener(network, address)
}

// CheckListener accepts the listeners whose file descriptor Netpoll can
// poll: its own (from Listen), *net.TCPListener and *net.UnixListener. A
// crypto/tls listener, or any other listener that wraps one, is rejected:
// Netpoll would accept its connections without the wrapping (the TLS
// handshake would never happen).
func (npEngine) CheckListener(ln net.Listener) error {
	switch ln.(type) {
	case netpoll.Listener, *net.TCPListener, *net.UnixListener:
		return nil
	case nil:
		return fmt.Errorf("%w: nil listener", ErrUnsupportedListener)
	}
	return fmt.Errorf("%w: the netpoll engine cannot serve a %T: it polls the listener's file descriptor, "+
		"so it needs a *net.TCPListener, a *net.UnixListener or a listener from its Listen; "+
		"serve TLS and other wrapping listeners with the std engine (engine.Std; for a server, server.WithEngine(engine.Std))",
		ErrUnsupportedListener, ln)
}

func (npEngine) Dial(network, address string, timeout time.Duration) (Conn, error) {
	c, err := netpoll.DialConnection(network, address, timeout)
	if err != nil {
		return nil, err
	}
	return &npConn{Connection: c}, nil
}

// npConn adapts a netpoll.Connection to Conn (Go has no covariant return
// types, so Reader and Writer need a wrapper).
type npConn struct {
	netpoll.Connection
}

func (c *npConn) Reader() conn.Reader { return c.Connection.Reader() }
func (c *npConn) Writer() conn.Writer { return c.Connection.Writer() }

// PeerClosed implements PeerCloseProber.
func (c *npConn) PeerClosed() bool {
	if !c.Connection.IsActive() {
		return true
	}
	fc, ok := c.Connection.(interface{ Fd() int })
	return ok && c.Connection.Reader().Len() == 0 && peerClosedFd(fc.Fd())
}

// npConnCtx is the per-connection context that OnConnect returns, so that
// OnRequest finds the wrapper and the handler's context with a type
// assertion instead of a context lookup.
type npConnCtx struct {
	context.Context
	conn *npConn
}

type npServer struct {
	loop netpoll.EventLoop
}

func (npEngine) NewServer(p ServerParams) (Server, error) {
	h := p.Handler
	if h == nil {
		return nil, errors.New("engine: ServerParams.Handler is nil")
	}
	opts := []netpoll.Option{
		netpoll.WithOnConnect(func(ctx context.Context, c netpoll.Connection) context.Context {
			nc := &npConn{Connection: c}
			return &npConnCtx{Context: h.OnConnect(ctx, nc), conn: nc}
		}),
		netpoll.WithOnDisconnect(func(ctx context.Context, c netpoll.Connection) {
			if cc, ok := ctx.(*npConnCtx); ok {
				h.OnDisconnect(cc.Context, cc.conn)
			}
		}),
	}
	if p.ReadTimeout > 0 {
		opts = append(opts, netpoll.WithReadTimeout(p.ReadTimeout))
	}
	if p.IdleTimeout > 0 {
		opts = append(opts, netpoll.WithIdleTimeout(p.IdleTimeout))
	}
	loop, err := netpoll.NewEventLoop(func(ctx context.Context, c netpoll.Connection) error {
		cc, ok := ctx.(*npConnCtx)
		if !ok {
			return c.Close()
		}
		if err := h.OnRequest(cc.Context, cc.conn); err != nil {
			return c.Close()
		}
		return nil
	}, opts...)
	if err != nil {
		return nil, err
	}
	return &npServer{loop: loop}, nil
}

func (s *npServer) Serve(ln net.Listener) error {
	if err := (npEngine{}).CheckListener(ln); err != nil {
		return err
	}
	nl, ok := ln.(netpoll.Listener)
	if !ok {
		var err error
		if nl, err = netpoll.ConvertListener(ln); err != nil {
			return err
		}
	}
	return s.loop.Serve(nl)
}

func (s *npServer) Shutdown(ctx context.Context) error { return s.loop.Shutdown(ctx) }
