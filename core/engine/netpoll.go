//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
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

// Listen listens with Go's net package: the server accepts from the
// listener on Go's poller and hands the connections to Netpoll (see
// goAcceptListener), so that it can stop accepting at once.
func (npEngine) Listen(network, address string) (net.Listener, error) {
	return net.Listen(network, address)
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
	deadline := time.Now().Add(timeout)
	c, err := netpoll.DialConnection(network, address, timeout)
	for try := 1; try < dialAttempts && err != nil && errors.Is(err, netpoll.ErrConnClosed); try++ {
		// Netpoll reports a connection attempt the peer reset this way,
		// and under load it has been seen to report it for a listener that
		// is up: more attempts (fast when nothing listens) before the dial
		// counts as refused, all within the one timeout.
		left := timeout // 0: no timeout
		if timeout > 0 {
			if left = time.Until(deadline); left <= 0 {
				break
			}
		}
		c, err = netpoll.DialConnection(network, address, left)
	}
	if err != nil {
		return nil, dialError(err)
	}
	return newDialedConn(c), nil
}

// errConnectRefused replaces the "connection has been closed by peer"
// Netpoll reports when a connection attempt is reset (nothing listening,
// or a full backlog): it matches syscall.ECONNREFUSED, as a std dial's
// error does.
var errConnectRefused = fmt.Errorf("%w (reset while connecting)", syscall.ECONNREFUSED)

// dialError names a refused connection as such.
func dialError(err error) error {
	if !errors.Is(err, netpoll.ErrConnClosed) {
		return err
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		e := *oe
		e.Err = errConnectRefused
		return &e
	}
	return fmt.Errorf("dial: %w", errConnectRefused)
}

// npConn adapts a netpoll.Connection to Conn (Go has no covariant return
// types, so Reader and Writer need a wrapper).
type npConn struct {
	netpoll.Connection
	wr npWriter // the write side, guarded against Close (guardWrites)
}

func (c *npConn) Reader() conn.Reader {
	wakerTouch()
	return c.Connection.Reader()
}

func (c *npConn) Writer() conn.Writer {
	wakerTouch()
	return &c.wr
}

// ShortWait implements conn.ShortWaiter: on one P, the engine's waker
// runs at its fast period for a while (netpoll_waker_linux.go).
func (c *npConn) ShortWait() { wakerShortWait() }

// PeerClosed implements PeerCloseProber.
func (c *npConn) PeerClosed() bool {
	if !c.Connection.IsActive() {
		return true
	}
	fd := c.fd()
	return fd >= 0 && c.Connection.Reader().Len() == 0 && peerClosedFd(fd)
}

// fd is the connection's descriptor, or -1 when it has none.
func (c *npConn) fd() int {
	if fc, ok := c.Connection.(interface{ Fd() int }); ok {
		return fc.Fd()
	}
	return -1
}

// npConnCtx is the per-connection context that OnConnect returns, so that
// OnRequest finds the wrapper and the handler's context with a type
// assertion instead of a context lookup.
type npConnCtx struct {
	context.Context
	conn    *npServerConn
	refused bool // closed by OnConnect: OnRequest is never called
}

// npServerConn is a connection a server accepted: it remembers whether
// the handler closed it, and watches it for the idle timeout.
type npServerConn struct {
	npConn
	closed atomic.Bool

	// The idle timeout (ServerParams.IdleTimeout). Netpoll's own idle
	// option only turns TCP keepalive on, which a live peer answers, so
	// an idle connection would stay open for ever: a timer closes it.
	idleTimeout time.Duration
	idleTimer   *time.Timer
	quietSince  time.Time    // when a check last saw c in use (set by watchIdle, then by checkIdle only)
	used        atomic.Bool  // OnRequest began or ended since checkIdle last looked
	busy        atomic.Int32 // OnRequest is running
}

// idleChecks is how many times per idle timeout checkIdle looks at a
// connection, so that one idle for the timeout closes at most a step
// (idleStep) later. Requests only mark the connection used: no clock
// reading on the request path.
const idleChecks = 4

// watchIdle starts the idle timer of c.
func (c *npServerConn) watchIdle(d time.Duration) {
	c.idleTimeout = d
	c.quietSince = time.Now()
	// Armed once the fields are set: checkIdle uses them.
	c.idleTimer = time.AfterFunc(time.Hour, c.checkIdle)
	c.idleTimer.Reset(idleStep(d))
}

// idleStep is the period of checkIdle for the idle timeout d.
func idleStep(d time.Duration) time.Duration {
	return max((d+idleChecks-1)/idleChecks, time.Millisecond)
}

// checkIdle closes c once it has been idle for the idle timeout: no
// OnRequest running, none begun or ended since the check that last saw c
// in use, nothing buffered. It runs on c's timer only, every idleStep.
func (c *npServerConn) checkIdle() {
	if !c.Connection.IsActive() {
		return
	}
	// busy before used: a request ending between the two loads is seen
	// by one of them (active marks used before it lowers busy).
	if c.busy.Load() > 0 || c.used.Swap(false) || c.Connection.Reader().Len() > 0 {
		c.quietSince = time.Now() // read after the checks: never before the last use seen
	} else if time.Since(c.quietSince) >= c.idleTimeout {
		_ = c.Close()
		return
	}
	c.idleTimer.Reset(idleStep(c.idleTimeout))
}

// active records that OnRequest begins (n = 1) or ends (n = -1) on c.
func (c *npServerConn) active(n int32) {
	if c.idleTimer != nil {
		if n > 0 {
			c.busy.Add(n)
			c.used.Store(true)
		} else {
			c.used.Store(true)
			c.busy.Add(n)
		}
	}
}

// Close closes the connection.
func (c *npServerConn) Close() error {
	c.closed.Store(true)
	return c.npConn.Close()
}

type npServer struct {
	loop netpoll.EventLoop

	mu      sync.Mutex
	down    bool              // Shutdown was called
	serving chan struct{}     // closed when Serve returns; nil before Serve
	gal     *goAcceptListener // what Serve polls for a TCP or Unix listener
	noMore  bool              // StopAccepting was called
}

var _ AcceptStopper = (*npServer)(nil)

// StopAccepting implements AcceptStopper: new connections are refused at
// once. It closes the real listener, which Go's poller accepts from for
// Netpoll (see goAcceptListener); Netpoll's own descriptor, a pipe, is
// left to its Shutdown. A listener from Netpoll's own Listen is polled by
// Netpoll directly: it stops accepting in Shutdown only.
func (s *npServer) StopAccepting() {
	s.mu.Lock()
	s.noMore = true
	gal := s.gal
	s.mu.Unlock()
	if gal != nil {
		gal.stopAccepting()
	}
}

func (npEngine) NewServer(p ServerParams) (Server, error) {
	h := p.Handler
	if h == nil {
		return nil, errors.New("engine: ServerParams.Handler is nil")
	}
	opts := []netpoll.Option{
		netpoll.WithOnConnect(func(ctx context.Context, c netpoll.Connection) context.Context {
			nc := &npServerConn{npConn: npConn{Connection: c}}
			nc.guardWrites()
			cc := &npConnCtx{Context: ctx, conn: nc}
			// OnDisconnect runs from a close callback, not from Netpoll's
			// OnDisconnect: that one runs only when the peer closes, and
			// may run while OnRequest does. Close callbacks run once,
			// however the connection closes (by the peer, by OnConnect or
			// OnRequest, idle timeout, Shutdown), and after the last
			// OnRequest. The callback is added before OnConnect runs so
			// that a connection OnConnect closes gets it too; it runs
			// after OnConnect returns (Netpoll runs both on the
			// connection's processing lock).
			_ = c.AddCloseCallback(func(netpoll.Connection) error {
				if nc.idleTimer != nil {
					nc.idleTimer.Stop()
				}
				h.OnDisconnect(cc.Context, nc)
				return nil
			})
			cc.Context = h.OnConnect(ctx, nc)
			if cc.Context == nil {
				cc.Context = ctx
			}
			// Closed by OnConnect, not by the peer: the peer's last bytes
			// are still served when it closed right after sending them.
			cc.refused = nc.closed.Load()
			if p.IdleTimeout > 0 && !cc.refused {
				nc.watchIdle(p.IdleTimeout)
			}
			return cc
		}),
	}
	if p.ReadTimeout > 0 {
		opts = append(opts, netpoll.WithReadTimeout(p.ReadTimeout))
	}
	if p.IdleTimeout > 0 {
		// TCP keepalive at this period: a peer that vanished is found
		// even while OnRequest waits (a stream connection). The idle
		// close itself is the connection's timer (watchIdle).
		opts = append(opts, netpoll.WithIdleTimeout(p.IdleTimeout))
	}
	loop, err := netpoll.NewEventLoop(func(ctx context.Context, c netpoll.Connection) error {
		cc, ok := ctx.(*npConnCtx)
		if !ok || cc.refused {
			return c.Close()
		}
		wakerTouch()
		cc.conn.active(1)
		err := h.OnRequest(cc.Context, cc.conn)
		cc.conn.active(-1)
		if err != nil {
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
	var gal *goAcceptListener
	if !ok {
		var err error
		if gal, err = newGoAcceptListener(ln); err != nil {
			return err
		}
		nl = gal
	}
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		_ = nl.Close()
		return nil
	}
	s.gal = gal
	if s.noMore && gal != nil {
		gal.stopAccepting()
	}
	serving := make(chan struct{})
	s.serving = serving
	s.mu.Unlock()
	defer close(serving)
	err := s.loop.Serve(nl)
	if gal != nil {
		_ = gal.Close() // done already when Shutdown stopped Serve
	}
	return err
}

func (s *npServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.down = true
	serving := s.serving
	s.mu.Unlock()
	err := s.loop.Shutdown(ctx)
	if serving == nil {
		return err // Serve was not called; it will return at once
	}
	for {
		select {
		case <-serving:
			return err
		case <-time.After(time.Millisecond):
			// Netpoll's Shutdown stops nothing when it runs before its
			// Serve has taken the listener (Serve would then wait
			// forever): stop it again now that it may have.
			if e := s.loop.Shutdown(ctx); err == nil {
				err = e
			}
		}
	}
}
