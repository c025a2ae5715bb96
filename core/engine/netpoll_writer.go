//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/skiffrpc/skiff/core/conn"
)

// npWriter is a Netpoll connection's write side, guarded against the
// connection's Close. Netpoll releases a connection's write buffer in a
// close callback, without waiting for a goroutine that is writing: a
// Malloc or WriteBinary after Close, or racing with it (a multiplexed
// client's writer while its reader closes the connection), dereferenced a
// released buffer node and panicked, and bytes written into a slice that
// Malloc returned could land in a buffer already handed to another
// connection.
//
// A write session runs from the first Malloc or WriteBinary to Flush; the
// close callback (which runs before Netpoll's own, which releases the
// buffers) waits for a session in progress to end, up to
// npCloseWaitMax, and then marks the writer closed, so that later writes
// (of at least one byte) and flushes fail with ErrConnClosed. A session
// costs a few atomic operations.
type npWriter struct {
	w     netpoll.Writer
	state atomic.Int32 // npWriting | npWriterClosed
}

const (
	npWriting      = 1 // a session is in progress
	npWriterClosed = 2 // the connection closed: no more writes
)

// npCloseWaitMax bounds how long Close waits for a write session to end.
// A session is a few encodes and a Flush, microseconds unless its
// goroutine is descheduled (tens of milliseconds were seen on one loaded
// P); a writer that gives up a write before Flush ends its session with
// AbortWrite (conn.WriteAborter). Past the bound, a session still in
// progress could write into a released buffer, as before the guard.
const npCloseWaitMax = 200 * time.Millisecond

// errWriterClosed is what a write on a closed connection returns.
var errWriterClosed = netpoll.Exception(netpoll.ErrConnClosed, "write after close")

var (
	_ conn.Writer       = (*npWriter)(nil)
	_ conn.WriteAborter = (*npWriter)(nil)
)

// begin starts or continues a session; it fails once the connection
// closed.
func (w *npWriter) begin() error {
	for {
		s := w.state.Load()
		if s&npWriterClosed != 0 {
			return errWriterClosed
		}
		if s&npWriting != 0 || w.state.CompareAndSwap(s, s|npWriting) {
			return nil
		}
	}
}

// Malloc implements conn.Writer. Malloc(0) writes nothing and starts no
// session.
func (w *npWriter) Malloc(n int) ([]byte, error) {
	if n <= 0 {
		if n < 0 {
			return nil, fmt.Errorf("engine: negative length %d", n)
		}
		return nil, nil
	}
	if err := w.begin(); err != nil {
		return nil, err
	}
	return w.w.Malloc(n)
}

// WriteBinary implements conn.Writer. An empty b starts no session.
func (w *npWriter) WriteBinary(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if err := w.begin(); err != nil {
		return 0, err
	}
	return w.w.WriteBinary(b)
}

// AbortWrite implements conn.WriteAborter: it ends the session without
// sending (what was written stays in the buffer; the caller closes the
// connection).
func (w *npWriter) AbortWrite() { w.state.And(^int32(npWriting)) }

// MallocLen implements conn.Writer (Netpoll reads a counter: no buffer is
// touched).
func (w *npWriter) MallocLen() int { return w.w.MallocLen() }

// Flush implements conn.Writer and ends the session.
func (w *npWriter) Flush() error {
	if err := w.begin(); err != nil {
		return err
	}
	err := w.w.Flush()
	w.state.And(^int32(npWriting))
	return err
}

// close marks the writer closed once no session is in progress (or
// npCloseWaitMax passed). It runs in the connection's close callback,
// before Netpoll releases the buffers.
func (w *npWriter) close() {
	var deadline time.Time
	for {
		if w.state.CompareAndSwap(0, npWriterClosed) {
			return
		}
		s := w.state.Load()
		if s&npWriterClosed != 0 {
			return
		}
		// On one P, the writer may need the poller to wake up.
		wakerShortWait()
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(npCloseWaitMax)
		} else if now.After(deadline) {
			w.state.Or(npWriterClosed)
			return
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// guardWrites makes c's writer the guarded one and closes it from a close
// callback (which Netpoll runs before its own, added when it made the
// connection). It is called as the connection is made, before anything
// can Close it: a dialed one before Dial returns, an accepted one before
// OnConnect runs (a close by the poller waits for OnConnect). A
// connection the peer closed is not closed for writing: Netpoll keeps its
// buffers until Close, and Flush reports the peer's close as a
// connection error.
func (c *npConn) guardWrites() {
	c.wr.w = c.Connection.Writer()
	_ = c.Connection.AddCloseCallback(func(netpoll.Connection) error {
		c.wr.close()
		return nil
	})
}
