//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

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

	// Where written bytes sit, for MallocAck(0); only the goroutine that
	// owns the write touches these. end is the address just past the
	// bytes of the last write that copied into Netpoll's buffer (valid
	// when endState is npEndAt); flushEnd and flushState are end and
	// endState as the last Flush left them; inFlushNode is whether the
	// session's first write went into the node that Flush ended in, or
	// may have.
	end, flushEnd        uintptr
	endState, flushState uint8
	inFlushNode          bool
}

// endState values.
const (
	// npEndReadonly: the node the bytes end in takes no writes. A
	// connection's output buffer starts with an empty read-only node (the
	// zero value), and a slice Netpoll keeps by reference gets a
	// read-only node of its own.
	npEndReadonly = iota
	npEndAt       // end is valid
	npEndUnknown  // not known: assume the worst
)

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
	_ conn.MallocAcker  = (*npWriter)(nil)
)

// begin starts or continues a session, and reports whether it started
// one; it fails once the connection closed.
func (w *npWriter) begin() (started bool, err error) {
	for {
		s := w.state.Load()
		if s&npWriterClosed != 0 {
			return false, errWriterClosed
		}
		if s&npWriting != 0 {
			return false, nil
		}
		if w.state.CompareAndSwap(s, s|npWriting) {
			w.inFlushNode = true // until the first write shows otherwise
			return true, nil
		}
	}
}

// wrote records b, just written into Netpoll's buffer by copy or Malloc,
// as the session's last write (and, when first, whether it went into the
// node the last Flush ended in: right after that Flush's last byte).
func (w *npWriter) wrote(b []byte, first bool) {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if first {
		w.inFlushNode = w.flushState == npEndUnknown || w.flushState == npEndAt && p == w.flushEnd
	}
	w.end, w.endState = p+uintptr(len(b)), npEndAt
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
	first, err := w.begin()
	if err != nil {
		return nil, err
	}
	b, err := w.w.Malloc(n)
	if err == nil {
		w.wrote(b, first)
	}
	return b, err
}

// WriteBinary implements conn.Writer. An empty b starts no session.
func (w *npWriter) WriteBinary(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	first, err := w.begin()
	if err != nil {
		return 0, err
	}
	if len(b) > netpoll.BinaryInplaceThreshold {
		// Netpoll keeps b by reference, in a node it appends.
		n, err := w.w.WriteBinary(b)
		if err == nil {
			if first {
				w.inFlushNode = false
			}
			w.endState = npEndReadonly
		}
		return n, err
	}
	// Copied, as Netpoll's WriteBinary would (Malloc, then copy), so that
	// wrote sees where.
	dst, err := w.w.Malloc(len(b))
	if err != nil {
		return 0, err
	}
	w.wrote(dst, first)
	return copy(dst, b), nil
}

// AbortWrite implements conn.WriteAborter: it ends the session without
// sending (what was written stays in the buffer; the caller closes the
// connection).
func (w *npWriter) AbortWrite() { w.state.And(^int32(npWriting)) }

// MallocAck implements conn.MallocAcker with Netpoll's own: it keeps the
// first n bytes written since the last Flush.
//
// Taking back everything (n == 0) needs care: Netpoll's MallocAck(0)
// (v0.7.2) drops the nodes after the one the last Flush ended in, but
// keeps what was written into that node, and the next Flush would send
// it. So it is done only when the session's first write went elsewhere
// (a new node: the flush node was full, read-only or replaced; wrote
// tells by address); otherwise, or when that is not known, it is refused
// and the caller closes the connection. (Splitting the flush node first
// with WriteDirect is not safe: on a read-only node the split hands its
// memory to a second owner, which corrupted later writes in a randomized
// test.) Taking back everything ends the session, as a Flush would.
func (w *npWriter) MallocAck(n int) error {
	m := w.w.MallocLen()
	if n < 0 || n > m {
		return fmt.Errorf("engine: MallocAck(%d) with %d bytes written", n, m)
	}
	if n == m {
		return nil // nothing to take back
	}
	if w.state.Load()&npWriting == 0 {
		// Bytes left by a write given up (AbortWrite) or a Flush Netpoll
		// refused; the buffers may already be released.
		return fmt.Errorf("engine: MallocAck(%d) outside a write session", n)
	}
	if n > 0 {
		w.endState = npEndUnknown // the last write may have been cut
		return w.w.MallocAck(n)
	}
	if w.inFlushNode {
		return fmt.Errorf("engine: Netpoll cannot take back the %d bytes written since the last flush: some are in the node it ended in", m)
	}
	if err := w.w.MallocAck(0); err != nil {
		return err
	}
	w.end, w.endState = w.flushEnd, w.flushState // back where the Flush left it
	w.state.And(^int32(npWriting))
	return nil
}

// MallocLen implements conn.Writer (Netpoll reads a counter: no buffer is
// touched).
func (w *npWriter) MallocLen() int { return w.w.MallocLen() }

// Flush implements conn.Writer and ends the session.
func (w *npWriter) Flush() error {
	if _, err := w.begin(); err != nil {
		return err
	}
	err := w.w.Flush()
	if w.w.MallocLen() == 0 {
		w.flushEnd, w.flushState = w.end, w.endState
	} else {
		w.flushState = npEndUnknown // refused before it moved the flush node
	}
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
