package engine

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/skiffrpc/skiff/core/conn"
)

// Conn is one connection: an alias of [conn.Conn], where it is
// documented. Connections of the std engine also have the
// [conn.NetConner] capability.
type Conn = conn.Conn

// PeerCloseProber is an optional capability of a [Conn] that can tell,
// without blocking and without consuming input, whether the peer has
// closed or reset the connection. Client pools ask it before reusing a
// connection that has been idle, so that a request is not written to a
// connection the server already closed (a restart, an idle timeout).
// Both of Skiff's engines implement it on Linux and the BSDs.
type PeerCloseProber interface {
	// PeerClosed reports whether the peer has closed or reset the
	// connection. It returns false when bytes are waiting to be read.
	PeerClosed() bool
}

// PeerClosed reports whether c's peer has closed it, when c implements
// [PeerCloseProber]; false otherwise.
func PeerClosed(c Conn) bool {
	p, ok := c.(PeerCloseProber)
	return ok && p.PeerClosed()
}

// Handler receives the events of server connections. The engine calls
// the events of one connection one at a time, in order: OnConnect, then
// OnRequest any number of times, then OnDisconnect.
type Handler interface {
	// OnConnect runs once when a connection is accepted, before any of
	// its bytes is handed to OnRequest, and returns the context passed to
	// the connection's later events (nil means ctx).
	//
	// OnConnect refuses a connection by closing c: the engine then never
	// calls OnRequest for it (bytes that arrived meanwhile are dropped
	// unread), and OnDisconnect follows.
	OnConnect(ctx context.Context, c Conn) context.Context
	// OnRequest runs when bytes are readable. It reads and serves the
	// requests that are buffered and returns; it returns an error (and
	// closes c) when the connection must end.
	OnRequest(ctx context.Context, c Conn) error
	// OnDisconnect runs once, after the last OnRequest, for every
	// connection OnConnect ran for, however it closed: by the peer, by
	// OnConnect or OnRequest, by a timeout or by Shutdown. It must not
	// block: Netpoll may run it on its poller.
	OnDisconnect(ctx context.Context, c Conn)
}

// Server serves connections accepted from one listener.
type Server interface {
	// Serve accepts on ln until Shutdown; it returns nil after Shutdown.
	// It fails at once, before accepting, if ln is a listener the engine
	// cannot serve (see CheckListener).
	Serve(ln net.Listener) error
	// Shutdown stops accepting, waits until every connection is idle (no
	// request being served, nothing buffered) or ctx ends, then closes all
	// connections. It returns ctx.Err() if ctx ended first.
	Shutdown(ctx context.Context) error
}

// AcceptStopper is an optional capability of a [Server] (Std and Netpoll
// have it): StopAccepting makes it refuse new connections at once, while
// it goes on serving the open ones until Shutdown, which then returns as
// usual. A server that must let work finish on its open connections before
// Shutdown closes the idle ones stops accepting with it first. Netpoll
// does not poll a *net.TCPListener or *net.UnixListener itself: Go's
// poller accepts from it and hands the connections over, so that closing
// it never races with Netpoll's poller; a listener from Netpoll's own
// Listen stops accepting in Shutdown only.
type AcceptStopper interface {
	StopAccepting()
}

// ServerParams configures a server.
type ServerParams struct {
	// Handler receives the connection events. Required.
	Handler Handler
	// ReadTimeout bounds the wait for the rest of a partly received
	// request; 0 means none. On Std it runs from the request's first byte
	// until the request is whole, however slowly its bytes trickle in; on
	// Netpoll it bounds each blocking read of the handler.
	ReadTimeout time.Duration
	// IdleTimeout closes a connection with no traffic for this long; 0
	// means never. A connection is not idle while OnRequest runs for it
	// (a stream connection, whose protocol has its own keepalive). On
	// Netpoll it also sets TCP keepalive to this period.
	IdleTimeout time.Duration
}

// Engine makes servers and client connections.
type Engine interface {
	// Name is "netpoll" or "std".
	Name() string
	// NewServer returns a server for p.
	NewServer(p ServerParams) (Server, error)
	// Dial connects to address on network ("tcp" or "unix") within timeout.
	Dial(network, address string, timeout time.Duration) (Conn, error)
	// Listen opens a listener that this engine's servers can serve.
	Listen(network, address string) (net.Listener, error)
}

// ErrUnsupportedListener is matched (errors.Is) by the error of an engine
// that cannot serve a listener: Netpoll serves only listeners whose file
// descriptor it can poll, so not the TLS listeners of crypto/tls or other
// wrapping listeners, which the Std engine serves.
var ErrUnsupportedListener = errors.New("engine: unsupported listener")

// ListenerChecker is an optional capability of an Engine whose servers
// serve only some listeners.
type ListenerChecker interface {
	// CheckListener returns an error matching ErrUnsupportedListener if
	// the engine's servers cannot serve ln.
	CheckListener(ln net.Listener) error
}

// CheckListener returns an error matching ErrUnsupportedListener if e's
// servers cannot serve ln, so that a caller can fail before serving in the
// background. Engines that are not a ListenerChecker serve any listener.
func CheckListener(e Engine, ln net.Listener) error {
	if c, ok := e.(ListenerChecker); ok {
		return c.CheckListener(ln)
	}
	return nil
}
