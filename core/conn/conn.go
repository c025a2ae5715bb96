package conn

import (
	"net"
	"time"
)

// Reader is the zero-copy read side of a connection. Netpoll's
// netpoll.Reader satisfies it, and so does the reader of Skiff's net-based
// engine.
//
// Slices returned by Next and Peek stay valid until Release. Next and Peek
// block until n bytes are buffered, the read timeout passes or the
// connection closes.
type Reader interface {
	// Next returns the next n bytes and advances past them.
	Next(n int) ([]byte, error)
	// Peek returns the next n bytes without advancing.
	Peek(n int) ([]byte, error)
	// Skip advances past n bytes.
	Skip(n int) error
	// Release frees the bytes already read; earlier slices become invalid.
	Release() error
	// Len returns how many bytes are buffered and readable without blocking.
	Len() int
}

// Writer is the zero-copy write side of a connection. Netpoll's
// netpoll.Writer satisfies it.
type Writer interface {
	// Malloc reserves n bytes at the end of the write buffer and returns
	// them for the caller to fill. The slice is valid until the next Malloc,
	// WriteBinary or Flush.
	Malloc(n int) ([]byte, error)
	// WriteBinary appends b. The writer may keep b until Flush.
	WriteBinary(b []byte) (int, error)
	// MallocLen returns the number of bytes written since the last Flush.
	MallocLen() int
	// Flush sends everything written so far.
	Flush() error
}

// Conn is one connection. Reader and Writer are not safe for concurrent use:
// one goroutine reads and one writes at a time.
type Conn interface {
	// Reader returns the zero-copy read side.
	Reader() Reader
	// Writer returns the zero-copy write side.
	Writer() Writer
	// SetReadTimeout bounds each blocking read; 0 means no bound.
	SetReadTimeout(d time.Duration) error
	// IsActive reports whether the connection is still open.
	IsActive() bool
	// Close closes the connection; blocked reads return an error.
	Close() error
	// LocalAddr returns the local address.
	LocalAddr() net.Addr
	// RemoteAddr returns the peer's address.
	RemoteAddr() net.Addr
}

// WriteAborter is an optional capability of a [Writer] whose engine must
// know when a write ends without Flush (Skiff's Netpoll engine: Close
// waits, a while, for a write in progress to end before it releases the
// write buffer). AbortWrite tells it that the caller gave up the write
// after Malloc or WriteBinary (an encoding failed, and the connection is
// about to be closed) and will not touch what Malloc returned again. Only
// the goroutine that owns the write calls it.
type WriteAborter interface {
	AbortWrite()
}

// AbortWrite calls w.AbortWrite when w is a [WriteAborter].
func AbortWrite(w Writer) {
	if a, ok := w.(WriteAborter); ok {
		a.AbortWrite()
	}
}

// MallocAcker is an optional capability of a [Writer] that can take back
// what was written since the last Flush. MallocAck keeps the first n of
// those bytes (n at most MallocLen) and drops the rest, or returns an
// error and drops nothing; slices Malloc returned for dropped bytes must
// not be used again. The writers of both Skiff engines have it. The
// net-based engine's refuses to drop bytes of a large WriteBinary slice
// already queued for a vectored write. The Netpoll engine's refuses to
// drop everything when some of it went into the buffer node the last
// Flush ended in: Netpoll's own netpoll.Writer would keep, and later send,
// those bytes.
type MallocAcker interface {
	MallocAck(n int) error
}

// Rewind drops what w holds past its first n unflushed bytes, as after a
// message that failed to encode part way. It reports whether w did: when
// it cannot (it is not a [MallocAcker], or refused), what w holds must
// not be flushed, since the peer would read a broken message.
func Rewind(w Writer, n int) bool {
	if w.MallocLen() == n {
		return true
	}
	a, ok := w.(MallocAcker)
	return ok && a.MallocAck(n) == nil
}

// NetConner is an optional capability of a [Conn] that runs over a Go
// net.Conn on Go's own network poller (the std engine): goroutines blocked
// in its reads and writes are parked by the Go scheduler, so a writer that
// yields lets other goroutines add to its next write. NetConn returns the
// underlying connection, a *tls.Conn when the connection uses TLS. Callers
// must not read or write it directly.
type NetConner interface {
	NetConn() net.Conn
}

// ReadAheader is an optional capability of a [Reader] whose engine reads
// the network only when a read asks for bytes (the std engine; Netpoll
// reads whatever arrives). ReadAhead moves bytes that have already arrived
// into the reader's buffer without waiting, until limit bytes are buffered
// or none are left, and returns how many are buffered (Len). A server
// calls it before it stops reading a connection for a while (at its
// concurrency bound), so that the requests queued there are known to have
// arrived and their deadlines count from then. Only the goroutine that
// reads the connection may call it.
type ReadAheader interface {
	ReadAhead(limit int) int
}

// ShortWaiter is an optional capability of a [Conn] whose engine can delay
// a goroutine that waits briefly for a timer or yields the processor. It is
// for transports and runtimes that hold writes to coalesce them (a write
// hold, a reply batch's budget, a yield before a write): call ShortWait as
// such a wait begins. The client and server runtimes also call it while
// calls are sparse (a goroutine the poller wakes may otherwise wait for
// the poller's next event; see core/client's lowWaiters and core/server's
// sparseGap). The Netpoll engine on one P (GOMAXPROCS=1) then wakes
// its poller more often for a while, so the wait ends on time instead of
// when the poller's next event comes; elsewhere it does nothing. It is
// cheap (an atomic load) when called often.
type ShortWaiter interface {
	ShortWait()
}
