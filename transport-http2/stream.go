package h2transport

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/stream"
)

// errServerDone is what writes on a client stream return once the server
// has ended the stream: the response is complete, nothing more is read.
var errServerDone = io.EOF

// bufPool holds receive and send buffers of streams.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// getBuf returns a pooled buffer and its pool handle.
func getBuf() ([]byte, *[]byte) {
	h := bufPool.Get().(*[]byte)
	return (*h)[:0], h
}

// putBuf returns b (grown from the buffer of h, or not) to the pool.
func putBuf(h *[]byte, b []byte) {
	if h == nil || cap(b) > 256<<10 {
		return
	}
	*h = b[:0]
	bufPool.Put(h)
}

// stream is the state one HTTP/2 stream shares between client and server.
type h2stream struct {
	c  *conn
	id uint32

	// Receive side, guarded by mu.
	mu      sync.Mutex
	rbuf    []byte
	roff    int
	rhold   *[]byte   // pool handle of rbuf
	lent    bool      // rbuf[roff:] is lent (lend): not moved, not pooled
	rcond   sync.Cond // on mu: rbuf, rEOF, rerr or hdrSet changed
	rEOF    bool      // END_STREAM received
	rerr    error     // the stream failed
	recvWin int64     // stream window the peer may still use
	unacked int       // bytes read but not yet given back
	// flowDone: the unread bytes of rbuf no longer count against the
	// connection window (conn.unread): the stream left the table.
	flowDone bool
	// Client response, guarded by mu.
	hdr     stream.Header
	hdrSet  bool
	client  bool
	trailer stream.Header

	// Send side: windows and states are guarded by conn.mu.
	sendWin    int64
	sendErr    error // why nothing more can be sent
	localDone  bool  // END_STREAM sent or the stream was reset
	endSending bool  // END_STREAM is being written
	remoteDone bool  // END_STREAM received or the stream was reset
	removed    bool  // gone from the connection's table
	// Owned by the writing goroutine.
	wbuf      []byte
	whold     *[]byte
	hdrSent   bool
	unflushed atomic.Bool // frames of the stream are queued in conn.wbuf, not flushed yet

	// Server side: the stream memory budget (budget.go). charged,
	// reqHeld, settled and responded are guarded by mu; wcharged and
	// wresponded belong to the writing goroutine.
	charged    int64 // rbuf's capacity and reqHeld, charged to the budget
	reqHeld    int64 // request bytes read before the handler answered
	settled    bool  // the handler ended: nothing more is charged
	responded  bool  // the handler began to answer
	wcharged   int64 // wbuf's capacity, charged to the budget
	wresponded bool  // responded, as the writing goroutine knows it

	req     stream.Header
	respHdr stream.Header
	ctx     context.Context
	cancel  context.CancelFunc
	stop    context.CancelCauseFunc // server: cancels ctx (with a cause when the server stops)
	ended   atomic.Bool             // Close or Reset was called

	// Client side.
	watchMu   sync.Mutex
	stopWatch func() bool // client: stops the context watch; guarded by watchMu
}

func (s *h2stream) init(c *conn) {
	s.c = c
	s.rcond.L = &s.mu
}

func (s *h2stream) notifyLocked() { s.rcond.Broadcast() }

// appendRecv buffers received data; s.mu is held.
func (s *h2stream) appendRecv(data []byte) {
	before := cap(s.rbuf)
	if s.rbuf == nil {
		s.rbuf, s.rhold = getBuf()
	}
	if s.roff > 0 && !s.lent && len(s.rbuf)+len(data) > cap(s.rbuf) {
		// (While bytes are lent, append moves to a new array instead:
		// the lent one stays intact.)
		n := copy(s.rbuf, s.rbuf[s.roff:])
		s.rbuf = s.rbuf[:n]
		s.roff = 0
	}
	s.rbuf = append(s.rbuf, data...)
	s.chargeLocked(int64(cap(s.rbuf) - before))
}

// dropRecvLocked returns the receive buffer to the pool; s.mu is held.
// It returns how many unread bytes it discarded: the caller passes them
// to conn.consumed once s.mu is released.
func (s *h2stream) dropRecvLocked() int64 {
	var n int64
	if !s.flowDone {
		n = int64(len(s.rbuf) - s.roff)
	}
	s.chargeLocked(-int64(cap(s.rbuf)))
	if !s.lent {
		putBuf(s.rhold, s.rbuf) // a lent buffer is left to the collector
	}
	s.rbuf, s.rhold, s.roff = nil, nil, 0
	return n
}

// waitDataLocked waits until received bytes are buffered, the stream
// ended (io.EOF) or failed; s.mu is held, and released while it waits.
// With empty set it does not wait: it returns nil when nothing is
// buffered yet (a zero-length Read).
func (s *h2stream) waitDataLocked(empty bool) error {
	for {
		if s.rerr != nil {
			return s.rerr
		}
		if s.roff < len(s.rbuf) {
			return nil
		}
		if s.rEOF {
			return io.EOF
		}
		if empty {
			return nil
		}
		if s.unflushed.Load() {
			// Waiting for the peer: what this stream queued must go.
			s.mu.Unlock()
			s.flushQueued()
			s.mu.Lock()
			continue
		}
		s.rcond.Wait()
	}
}

// read implements Read of both stream kinds.
func (s *h2stream) read(p []byte) (int, error) {
	s.mu.Lock()
	if err := s.waitDataLocked(len(p) == 0); err != nil || len(p) == 0 {
		s.mu.Unlock()
		return 0, err
	}
	n := copy(p, s.rbuf[s.roff:])
	s.consumeLocked(n) // unlocks
	return n, nil
}

// errLentTwice is Lend's answer to a Lend before the last loan's Consume.
var errLentTwice = errors.New("h2transport: Lend before the last loan was consumed")

// lend implements stream.Lender's Lend for both stream kinds.
func (s *h2stream) lend() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lent {
		return nil, errLentTwice
	}
	if err := s.waitDataLocked(false); err != nil {
		return nil, err
	}
	s.lent = true
	return s.rbuf[s.roff:len(s.rbuf):len(s.rbuf)], nil
}

// consume implements stream.Lender's Consume for both stream kinds.
func (s *h2stream) consume(n int) {
	s.mu.Lock()
	lent := s.lent
	s.lent = false
	if !lent || n <= 0 || s.rbuf == nil {
		// Nothing consumed, or the buffer was dropped while lent (the
		// stream failed): dropRecvLocked counted its bytes.
		s.mu.Unlock()
		return
	}
	s.consumeLocked(min(n, len(s.rbuf)-s.roff)) // unlocks
}

// consumeLocked records that the next n buffered bytes were read: it
// drops the buffer once it is all read, charges the memory budget, and
// gives window back to the peer when due. s.mu is held; it releases it.
func (s *h2stream) consumeLocked(n int) {
	s.roff += n
	if s.roff == len(s.rbuf) {
		s.dropRecvLocked()
	}
	if s.c.budget != nil && !s.responded && s.reqHeld < maxHeldRequest {
		// Read, not answered: a codec is likely assembling a request
		// message from it.
		d := min(int64(n), maxHeldRequest-s.reqHeld)
		s.reqHeld += d
		s.chargeLocked(d)
	}
	upd := 0
	if !s.rEOF {
		s.unacked += n
		if s.unacked >= int(s.c.streamWin.Load())/4 {
			upd = s.unacked
			s.unacked = 0
			s.recvWin += int64(upd)
		}
	}
	counted := !s.flowDone
	s.mu.Unlock()
	if counted {
		s.c.consumed(int64(n), true)
	}
	if upd > 0 {
		s.c.sendWindowUpdate(s.id, upd, true)
	}
}

// Buffered returns how many received bytes Read would return without
// waiting. Codecs use it to size their buffers.
func (s *h2stream) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rbuf) - s.roff
}

// failRecv makes reads fail with err.
func (s *h2stream) failRecv(err error) {
	s.mu.Lock()
	if s.rerr == nil && !s.rEOF {
		s.rerr = err // after END_STREAM, what was received stays readable
	}
	var dropped int64
	if s.rbuf != nil && s.rerr != nil {
		dropped = s.dropRecvLocked()
	}
	if s.client {
		s.hdrSet = true // Header returns the error
	}
	s.notifyLocked()
	s.mu.Unlock()
	if dropped > 0 {
		s.c.consumed(dropped, false)
	}
}

// releaseFlow runs once the stream left the connection's table: what it
// still buffers no longer holds connection window (no more DATA can come
// for it), whether or not it is read later.
func (s *h2stream) releaseFlow(inline bool) {
	s.mu.Lock()
	var n int64
	if !s.flowDone {
		s.flowDone = true
		n = int64(len(s.rbuf) - s.roff)
	}
	s.mu.Unlock()
	if n > 0 {
		s.c.consumed(n, inline)
	}
}

// finish runs once the stream left the connection's table.
func (s *h2stream) finish() {
	switch {
	case s.stop != nil:
		s.stop(nil)
	case s.cancel != nil:
		s.cancel()
	}
	s.dropWatch()
}

// dropWatch stops watching the stream's context and returns once that is
// done, whoever started it. The client calls it before handing the end of a
// stream to its reader, so no transport goroutine touches the caller's
// context after the call has returned (callers may reuse it).
func (s *h2stream) dropWatch() {
	s.watchMu.Lock()
	if s.stopWatch != nil {
		s.stopWatch()
		s.stopWatch = nil
	}
	s.watchMu.Unlock()
}

// resetLocal aborts the stream from this side with RST_STREAM code.
func (s *h2stream) resetLocal(code uint32, err error, inline bool) {
	c := s.c
	c.mu.Lock()
	if s.removed {
		c.mu.Unlock()
		return
	}
	s.localDone, s.remoteDone = true, true
	if s.sendErr == nil || s.sendErr == errStreamClosed || s.sendErr == errServerDone {
		s.sendErr = err
	}
	closeConn := c.removeLocked(s)
	c.mu.Unlock()
	c.sendRST(s.id, http2.ErrCode(code), inline)
	s.releaseFlow(false)
	s.failRecv(err)
	s.finish()
	c.signalIdle()
	if closeConn {
		c.flushAndClose(errClosedByUser, goAwayFlushTimeout)
	}
}

// resetRemote handles RST_STREAM from the peer.
func (s *h2stream) resetRemote(code http2.ErrCode) { s.resetRemoteErr(resetError(code)) }

func (s *h2stream) resetRemoteErr(err error) {
	c := s.c
	c.mu.Lock()
	if s.removed {
		c.mu.Unlock()
		return
	}
	s.localDone, s.remoteDone = true, true
	if s.sendErr == nil || s.sendErr == errStreamClosed || s.sendErr == errServerDone {
		s.sendErr = err
	}
	closeConn := c.removeLocked(s)
	c.mu.Unlock()
	s.releaseFlow(false)
	s.failRecv(err)
	s.finish()
	c.signalIdle()
	if closeConn {
		c.flushAndClose(errClosedByUser, goAwayFlushTimeout)
	}
}

// acquire waits until the stream and connection windows allow sending,
// and takes up to n bytes of them.
func (s *h2stream) acquire(n int) (int, error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if s.sendErr != nil {
			return 0, s.sendErr
		}
		if c.closed {
			return 0, connClosedError(c.closeErr)
		}
		if w := min(s.sendWin, c.sendWin); w > 0 {
			m := int(min(w, int64(n)))
			s.sendWin -= int64(m)
			c.sendWin -= int64(m)
			return m, nil
		}
		if s.unflushed.Load() {
			// Frames queued without a flush (sendData) must go out
			// before waiting: the peer gives window back for them.
			c.mu.Unlock()
			s.flushQueued()
			c.mu.Lock()
			continue
		}
		c.cond.Wait()
	}
}

// flushQueued writes the frames sendData queued for s without a flush.
func (s *h2stream) flushQueued() {
	c := s.c
	c.wmu.Lock()
	s.unflushed.Store(false)
	c.flushLocked()
	c.wmu.Unlock()
}

// headerFunc writes a header block for the stream, wmu held.
type headerFunc func(c *conn, s *h2stream)

// send writes the buffered data of s. pre, if not nil, writes a header
// block first (in the same batch); with end set, the stream's side ends:
// with the trailer block tr if given, else END_STREAM on the last DATA.
func (s *h2stream) send(pre headerFunc, end bool, tr stream.Header, hasTr bool) error {
	if err := s.sendData(pre, s.wbuf, end, tr, hasTr, true); err != nil {
		return err
	}
	s.wbuf = s.wbuf[:0]
	if end {
		s.c.localEnded(s)
	}
	return nil
}

// sendData queues p as DATA frames of s, waiting for flow-control window
// as needed, with pre and the end of the stream as send describes. With
// flush unset, the frames of the last piece stay queued in the connection
// buffer for a later flush (the stream's next send, or any other write
// on the connection); pieces before it, which wait for window, are
// always flushed.
func (s *h2stream) sendData(pre headerFunc, p []byte, end bool, tr stream.Header, hasTr, flush bool) error {
	c := s.c
	for {
		n := 0
		if len(p) > 0 {
			var err error
			if n, err = s.acquire(len(p)); err != nil {
				return err
			}
		}
		last := n == len(p)
		if last && end {
			// Before the write: the response may come back before the
			// write returns, and must not be taken as an early one.
			c.mu.Lock()
			s.endSending = true
			c.mu.Unlock()
		}
		c.wmu.Lock()
		err := c.writableLocked()
		if err == nil {
			// A Reset (or the peer's RST) since acquire: its RST_STREAM
			// is queued after wmu is released; send nothing after it.
			c.mu.Lock()
			if s.sendErr != nil {
				err = s.sendErr
				c.sendWin += int64(n) // give back the unused credit
				c.cond.Broadcast()
			}
			c.mu.Unlock()
		}
		if err != nil {
			c.wmu.Unlock()
			return err
		}
		if pre != nil {
			pre(c, s)
			pre = nil
		}
		endData := last && end && !hasTr
		if n > 0 || endData {
			c.writeDataLocked(s.id, p[:n], endData)
		}
		if last && end && hasTr {
			c.encodeRegular(tr)
			c.writeHeaderBlockLocked(s.id, true)
		}
		switch {
		case last && !flush && c.pendingLocked() < unflushedMaxBytes:
			s.unflushed.Store(true) // queued: the stream's next send flushes
		default:
			s.unflushed.Store(false)
			c.flushLocked()
		}
		c.wmu.Unlock()
		p = p[n:]
		if last {
			return nil
		}
	}
}

// directWrite is the size from which write queues data straight into the
// connection buffer instead of the stream's: one copy of a large message
// less.
const directWrite = 8 << 10

// write buffers p, sending full chunks.
func (s *h2stream) write(p []byte, pre headerFunc) (int, error) {
	if err := s.sendState(); err != nil {
		return 0, err
	}
	if len(s.wbuf) == 0 && len(p) >= directWrite {
		if err := s.sendData(pre, p, false, nil, false, false); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	before := cap(s.wbuf)
	if s.wbuf == nil {
		s.wbuf, s.whold = getBuf()
	}
	s.wbuf = append(s.wbuf, p...)
	if d := int64(cap(s.wbuf) - before); d != 0 && s.c.budget != nil {
		s.wcharged += d
		s.c.charge(d)
	}
	if len(s.wbuf) >= writeChunk {
		if err := s.send(pre, false, nil, false); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// sendState returns the error that keeps the stream from sending.
func (s *h2stream) sendState() error {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.sendErr != nil {
		return s.sendErr
	}
	if c.closed {
		return connClosedError(c.closeErr)
	}
	return nil
}

// releaseSend returns the send buffer to the pool.
func (s *h2stream) releaseSend() {
	if s.wbuf != nil {
		putBuf(s.whold, s.wbuf)
		s.wbuf, s.whold = nil, nil
	}
	s.c.charge(-s.wcharged)
	s.wcharged = 0
}
