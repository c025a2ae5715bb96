package server

import (
	"sync/atomic"
	"time"
)

// DefaultMaxConns is the number of connections a server keeps open at
// once unless WithMaxConns says otherwise.
//
// Why 10,000: each open connection costs the server memory even when idle
// (about 8 KiB of RSS on either engine, measured in tests/hostile; on std
// it also holds a goroutine) and a file descriptor. Ten thousand idle
// connections stay under 100 MiB and well within the descriptor limit Go
// sets for itself on Linux, while an RPC server behind pooled or
// multiplexing clients rarely has more than a few hundred peers. Raise it for a server
// with very many clients (a gateway's backend); lower it on a small
// container.
const DefaultMaxConns = 10000

// WithMaxConns bounds the connections the server keeps open at once
// (default DefaultMaxConns; n <= 0 means no bound, as Kitex and grpc-go
// have by default).
//
// A connection beyond the bound is accepted and closed at once, before
// any of its bytes is read, so no request sent on it is served: the client
// sees its connection closed by the peer straight away, rather than
// waiting in the kernel's accept queue until its dial timeout, and the
// queue keeps draining. A Skiff client fails the call with Unavailable:
// status.ErrUnsent when it sees the close while connecting (safe to retry
// anywhere), status.ErrConnLost when it had already written the request
// (which the server did not read, though the client cannot know it). The
// open connections are not touched: the calls of clients already
// connected go on as before. The server logs a warning when it starts
// refusing (at most once a second, with the count refused so far), and
// its diagnosis probe (WithDiagnosis) reports the bound and the count.
//
// The bound counts every connection the engine accepted and hooks
// (WithConnHook) did not refuse, whatever its protocol, on both engines.
// Hooks run first: a connection a hook refuses is not counted.
func WithMaxConns(n int) Option {
	return optionFunc(func(o *options) { o.maxConns = n })
}

// connLimit counts what WithMaxConns refused.
type connLimit struct {
	refused atomic.Int64 // connections closed at the bound
	lastLog atomic.Int64 // unix nanoseconds of the last warning
}

// admitConn takes a connection slot; it reports false, with the slot
// given back, when the server is at its bound (WithMaxConns). The caller
// gives an admitted connection's slot back (s.conns.Add(-1)) when it
// closes.
func (s *Server) admitConn(st *connState) bool {
	n := s.conns.Add(1)
	if max := int64(s.opts.maxConns); max <= 0 || n <= max {
		return true
	}
	s.conns.Add(-1)
	refused := s.limit.refused.Add(1)
	now := time.Now().UnixNano()
	if last := s.limit.lastLog.Load(); now-last >= int64(time.Second) && s.limit.lastLog.CompareAndSwap(last, now) {
		s.log.Warn("skiff: connection limit reached, closing new connections (WithMaxConns)",
			"limit", s.opts.maxConns, "refused_total", refused, "remote", st.remote)
	}
	return false
}
