package server

import (
	"net"

	"github.com/skiffrpc/skiff/core/status"
)

// ConnHook is told about each connection the server accepts: a connection
// limiter (as Kitex's, checked when a connection becomes active), an
// allow list, a connection counter. Install it with [WithConnHook].
//
// The server calls a hook from the engine's goroutines, concurrently for
// different connections, so an implementation must be safe for concurrent
// use. Neither method may block: under Netpoll they can run on the poller.
type ConnHook interface {
	// Accept runs when a connection is accepted, before any byte of it is
	// read. A non-nil error refuses the connection: the server closes it
	// at once and writes nothing to it (the client sees its connection
	// closed), logs the error at level Debug, and does not call Closed.
	Accept(remote net.Addr) error
	// Closed runs once for every connection Accept returned nil for, when
	// that connection ends, however it ends (closed by the client, by the
	// server after a protocol error or an idle timeout, or by Stop).
	Closed(remote net.Addr)
}

// WithConnHook adds h to the hooks told about each accepted connection.
// Hooks run in the order they were added; the first that refuses a
// connection ends it, and the hooks before it that had accepted it are
// told it Closed (in reverse order), so that every hook sees an Accept
// that returned nil paired with one Closed. A nil h is ignored. The
// default is no hook.
//
// Hooks see every connection the server's engine accepts, whatever its
// protocol (Thrift, TTHeader, Kitex Protobuf, HTTP/2), on both engines.
// They do not run for requests served by an [Invoker], which has no
// connections.
func WithConnHook(h ConnHook) Option {
	return optionFunc(func(o *options) {
		if h != nil {
			ext := o.extensions()
			ext.connHooks = append(ext.connHooks, h)
		}
	})
}

// errConnRefused ends a connection a ConnHook refused, should an engine
// hand it to OnRequest anyway.
var errConnRefused = status.New(status.ResourceExhausted, "server: connection refused by a ConnHook")

// acceptConn asks the hooks about a new connection and reports whether
// they all accepted it; st.accepted is then set, so that closeConn tells
// them when it ends.
func (s *Server) acceptConn(st *connState) bool {
	hooks := s.opts.ext.connHooks
	for i, h := range hooks {
		if err := h.Accept(st.remote); err != nil {
			s.log.Debug("skiff: connection refused by a ConnHook", "remote", st.remote, "err", err)
			for j := i - 1; j >= 0; j-- {
				hooks[j].Closed(st.remote)
			}
			return false
		}
	}
	st.accepted = true
	return true
}

// closeConn tells the hooks that a connection they accepted ended.
func (s *Server) closeConn(st *connState) {
	if !st.accepted {
		return
	}
	st.accepted = false
	hooks := s.opts.ext.connHooks
	for i := len(hooks) - 1; i >= 0; i-- {
		hooks[i].Closed(st.remote)
	}
}

// hasConnHooks reports whether WithConnHook installed a hook.
func (s *Server) hasConnHooks() bool {
	return s.opts.ext != nil && len(s.opts.ext.connHooks) > 0
}
