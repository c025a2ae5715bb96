package h2transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"golang.org/x/net/http2"

	skconn "github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/core/transport"
)

// serverConn is the server side of a connection.
type serverConn struct {
	c *conn
}

var _ stream.ServerConn = (*serverConn)(nil)

// Serve reads the client preface, sends SETTINGS and serves streams until
// the connection ends.
func (sc *serverConn) Serve() error {
	c := sc.c
	c.startWriter()
	err := sc.serve()
	c.close(err)
	c.waitWriter()
	c.mu.Lock()
	cause, draining := c.closeErr, c.draining
	c.mu.Unlock()
	if cause == errClosedByUser || draining && isPeerClose(err) {
		// Closed by Close or Shutdown, or the client left after our
		// GOAWAY: an orderly end.
		return nil
	}
	return err
}

// isPeerClose reports whether err, the end of a connection being drained,
// is the peer going away (whatever error its engine reports for a closed
// connection) rather than a protocol violation.
func isPeerClose(err error) bool {
	return !errors.Is(err, status.ErrProtocol)
}

func (sc *serverConn) serve() error {
	c := sc.c
	r := c.ec.Reader()
	b, err := r.Next(len(clientPreface))
	if err != nil {
		return err
	}
	if !bytes.Equal(b, clientPreface) {
		_ = r.Release()
		return status.Protocolf("h2transport: bad client preface %q", b)
	}
	_ = r.Release()
	o := c.opts
	c.wmu.Lock()
	c.writeSettingsLocked(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: o.maxStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(o.streamWindow)},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: o.maxHeaderListSize},
	)
	if o.connWindow > defaultWindow {
		c.writeWindowUpdateLocked(0, uint32(o.connWindow-defaultWindow))
	}
	c.kickLocked()
	c.wmu.Unlock()
	close(c.started)
	c.fmu.Lock()
	c.connRecvWin = c.connWin
	c.fmu.Unlock()
	c.startKeepalive(o.serverKATime, o.serverKATimeout, true)
	c.startMaxIdle(o.maxIdle)
	return c.readLoop()
}

// Shutdown sends GOAWAY, waits for the open streams and their handlers to
// end (or ctx), then closes the connection. Like grpc-go it goes away in
// two steps, so that streams the client opens meanwhile are not refused:
// GOAWAY with the largest stream id and a PING tell the client to stop
// opening streams; once the PING is answered (or a second has passed),
// GOAWAY with the last stream id that will be served follows, and later
// streams are refused.
func (sc *serverConn) Shutdown(ctx context.Context) error {
	c := sc.c
	// GOAWAY must follow the server's SETTINGS: wait until Serve sent them.
	select {
	case <-c.started:
	case <-c.done:
		return nil
	case <-ctx.Done():
		_ = sc.Close()
		return ctx.Err()
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	first := !c.draining
	c.draining = true
	c.mu.Unlock()
	if first {
		c.wmu.Lock()
		if c.werr == nil && !c.isClosed() {
			c.writeGoAwayLocked(maxStreamID, http2.ErrCodeNo, "")
			c.writePingLocked(false, shutdownPing)
			c.kickLocked()
		}
		c.wmu.Unlock()
		t := time.NewTimer(goAwayFlushTimeout)
		select {
		case <-c.drainAck:
		case <-t.C:
		case <-c.done:
		case <-ctx.Done():
		}
		t.Stop()
		c.mu.Lock()
		c.goAway = true
		last := c.maxPeerID
		c.mu.Unlock()
		c.wmu.Lock()
		if c.werr == nil && !c.isClosed() {
			c.writeGoAwayLocked(last, http2.ErrCodeNo, "")
			c.kickLocked()
		}
		c.wmu.Unlock()
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		c.mu.Lock()
		idle := c.closed || c.goAway && len(c.streams) == 0 && c.handlers == 0
		c.mu.Unlock()
		if idle {
			break
		}
		select {
		case <-c.idle:
		case <-t.C:
		case <-c.done:
		case <-ctx.Done():
			sc.stopStreams()
			// Send what the stopped streams' handlers wrote (their
			// UNAVAILABLE trailers) before closing.
			c.flushAndClose(errClosedByUser, goAwayFlushTimeout)
			return ctx.Err()
		}
	}
	c.flushAndClose(errClosedByUser, goAwayFlushTimeout)
	return nil
}

// stopStreams cancels the context of every open stream with cause
// stream.ErrServerStopping and waits up to stream.StopGrace for their
// handlers to return (having written their status), so that a forced stop
// ends streams with a status rather than a lost connection.
func (sc *serverConn) stopStreams() {
	c := sc.c
	c.mu.Lock()
	for _, s := range c.streams {
		if s.stop != nil {
			s.stop(stream.ErrServerStopping)
		}
	}
	c.mu.Unlock()
	t := time.NewTimer(stream.StopGrace)
	defer t.Stop()
	for {
		c.mu.Lock()
		idle := c.closed || c.handlers == 0
		c.mu.Unlock()
		if idle {
			return
		}
		select {
		case <-c.idle:
		case <-c.done:
			return
		case <-t.C:
			return
		}
	}
}

// startMaxIdle starts the WithMaxConnectionIdle check of a server
// connection (d > 0).
func (c *conn) startMaxIdle(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	if !c.closed {
		c.idleSince = time.Now()
		c.maxIdleTime = time.AfterFunc(time.Hour, func() { c.checkMaxIdle(d) })
		c.maxIdleTime.Reset(d) // armed once the field is set: checkMaxIdle uses it
	}
	c.mu.Unlock()
}

// checkMaxIdle closes the connection with GOAWAY if it has had no open
// stream and no running handler for d; otherwise it checks again when
// that could be the case.
func (c *conn) checkMaxIdle(d time.Duration) {
	c.mu.Lock()
	if c.closed || c.draining || c.goAway {
		c.mu.Unlock()
		return
	}
	left := d
	if c.nactive == 0 && c.handlers == 0 {
		left = d - time.Since(c.idleSince)
	}
	if left > 0 {
		c.maxIdleTime.Reset(left)
		c.mu.Unlock()
		return
	}
	// Decided with the last stream id in the same critical section: a
	// stream the reader accepts from now on is refused (goAway), so the
	// GOAWAY never covers a stream that this close would cut.
	last := c.maxPeerID
	c.goAway = true
	c.mu.Unlock()
	c.log.Debug("h2transport: closing an idle connection (WithMaxConnectionIdle)", "remote", c.ec.RemoteAddr(), "idle", d)
	c.goAwayLastAndClose(last, http2.ErrCodeNo, "max_idle", errClosedByUser)
}

// shutdownPing is the data of the PING that Shutdown sends between its
// two GOAWAY frames.
var shutdownPing = [8]byte{'s', 'k', 'i', 'f', 'f', 'g', 'o', 'a'}

// Close closes the connection at once; open streams fail.
func (sc *serverConn) Close() error {
	sc.c.close(errClosedByUser)
	return nil
}

// onRequestHeaders handles HEADERS from the client: a new stream or
// trailers.
func (c *conn) onRequestHeaders(f *headerBlock) error {
	id := f.id
	if id%2 == 0 {
		return connError{code: http2.ErrCodeProtocol, debug: "even stream id from client"}
	}
	c.mu.Lock()
	if s := c.streams[id]; s != nil {
		c.mu.Unlock()
		// Trailers end the request.
		if !f.end || f.invalid || hasPseudo(f.fields) {
			return streamError{id: id, code: http2.ErrCodeProtocol}
		}
		s.mu.Lock()
		s.rEOF = true
		s.notifyLocked()
		s.mu.Unlock()
		c.remoteEnded(s)
		return nil
	}
	if id <= c.maxPeerID {
		c.mu.Unlock()
		if f.end {
			return nil // late trailers of a stream reset here
		}
		return connError{code: http2.ErrCodeProtocol, debug: fmt.Sprintf("stream id %d reused or decreasing", id)}
	}
	c.maxPeerID = id
	// The stream limit counts open streams, as the client does. Handlers
	// may run a little past their stream's end, but a client that resets
	// streams at once (rapid reset) must not pile up goroutines: beyond a
	// quarter over the limit, streams are refused too.
	maxStreams := int(c.opts.maxStreams)
	refuse := c.goAway || len(c.streams) >= maxStreams || c.handlers >= maxStreams+maxStreams/4+16
	// Past the stream memory budget (budget.go), refused too.
	overBudget := !refuse && c.budget != nil && c.budget.refuses(c.charged.Load())
	c.mu.Unlock()
	if f.truncated {
		return streamError{id: id, code: http2.ErrCodeFrameSize}
	}
	if f.invalid || f.get(":method") == "" || f.get(":path") == "" {
		return streamError{id: id, code: http2.ErrCodeProtocol}
	}
	if refuse {
		return streamError{id: id, code: http2.ErrCodeRefusedStream}
	}
	if overBudget {
		c.budget.noteRefused(c.log, c.ec.RemoteAddr())
		return streamError{id: id, code: http2.ErrCodeRefusedStream}
	}

	ss := &serverStream{}
	s := &ss.h2stream
	s.init(c)
	s.id = id
	s.req = f.fields
	s.ctx, s.stop = context.WithCancelCause(context.Background())
	if f.end {
		s.rEOF = true
		s.remoteDone = true
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.stop(nil)
		return nil
	}
	s.sendWin = c.peerInitWin
	s.recvWin = c.streamWin.Load() // under mu: raiseWindows sees it or set it
	c.streams[id] = s
	c.nactive++
	c.busy.Store(int32(c.nactive))
	c.handlers++
	c.mu.Unlock()
	c.charge(streamOverhead) // given back by refund, when the handler ends
	c.dispatch(ss)
	return nil
}

// sparseData notes the DATA frames that the server and the client
// connections of the process receive (see sparseGap). The padding keeps
// the two off each other's cache line: every DATA frame updates one.
var sparseData struct {
	_      [64]byte
	server skconn.Sparse
	_      [64]byte
	client skconn.Sparse
	_      [64]byte
}

// sparseGap: while the DATA frames a connection receives (requests and
// stream messages on a server, responses and stream messages on a client)
// come this far apart on average, each announces a short wait to the
// engine (conn.ShortWaiter). On Netpoll with one P, the
// scheduler's fairness turn can hand the P to the poller just after it
// woke a goroutine, and the poller then blocks in epoll_wait with that
// goroutine runnable until the engine's waker expires; with messages this
// sparse nothing else ends the stall. Pinned at c=1: gRPC unary p99 0.9
// ms without, 0.3 ms with; bidi streams 0.77 ms without.
const sparseGap = 70 * time.Microsecond

// maxIdleWorkers bounds the idle handler goroutines a connection keeps;
// workerIdle is how long one waits for another stream before it ends.
const (
	maxIdleWorkers = 64
	workerIdle     = time.Second
)

// dispatch runs the handler for ss on an idle worker goroutine of the
// connection, or on a new one. Reusing goroutines saves the start of one
// and the growth of its stack for every stream.
func (c *conn) dispatch(ss *serverStream) {
	select {
	case c.work <- ss:
	default:
		go transport.RunKeepingStack(func() { c.worker(ss) })
	}
}

// worker runs handlers until it has been idle for workerIdle (or while
// enough others are idle), or the connection ends. It runs inside
// transport.RunKeepingStack, so that waiting between streams does not
// cost it its stack.
func (c *conn) worker(ss *serverStream) {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		c.runHandler(ss)
		if c.idleWorkers.Add(1) > maxIdleWorkers {
			c.idleWorkers.Add(-1)
			return
		}
		if t == nil {
			t = time.NewTimer(workerIdle)
		} else {
			t.Reset(workerIdle)
		}
		select {
		case ss = <-c.work:
			c.idleWorkers.Add(-1)
		case <-t.C:
			c.idleWorkers.Add(-1)
			return
		case <-c.done:
			c.idleWorkers.Add(-1)
			return
		}
	}
}

// runHandler runs the connection's handler for one stream.
func (c *conn) runHandler(ss *serverStream) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("h2transport: stream handler panicked", "panic", r, "stack", string(debug.Stack()))
		}
		if !ss.ended.Load() {
			ss.Reset(stream.CodeInternal)
		}
		ss.releaseSend()
		ss.refund()
		c.mu.Lock()
		c.handlers--
		c.mu.Unlock()
		c.signalIdle()
	}()
	c.handler(ss)
}

// serverStream is one stream of a server connection.
type serverStream struct {
	h2stream
}

var (
	_ stream.RawServerStream = (*serverStream)(nil)
	_ stream.Lender          = (*serverStream)(nil)
)

// Context is done when the stream completes, is reset or the connection
// ends.
func (ss *serverStream) Context() context.Context { return ss.ctx }

// Header returns the request header block, pseudo-headers included.
func (ss *serverStream) Header() stream.Header { return ss.req }

// Read reads request data; io.EOF after the client ended its side.
func (ss *serverStream) Read(p []byte) (int, error) { return ss.read(p) }

// Lend implements stream.Lender: it returns the request data buffered,
// waiting as Read does, without copying it; Consume ends the loan.
func (ss *serverStream) Lend() ([]byte, error) { return ss.lend() }

// Consume implements stream.Lender: the first n bytes of the last Lend
// are read, and the lent bytes are no longer valid.
func (ss *serverStream) Consume(n int) { ss.consume(n) }

var errHeaderSent = errors.New("h2transport: response header already sent")

// writeResponseHeader is the headerFunc of a response header block.
func writeResponseHeader(c *conn, s *h2stream) {
	s.encodeStatus()
	c.encodeRegular(s.respHdr)
	c.writeHeaderBlockLocked(s.id, false)
	s.hdrSent = true
}

// encodeStatus adds ":status" of the response header; wmu is held.
func (s *h2stream) encodeStatus() {
	st := s.respHdr.Get(":status")
	if st == "" {
		st = "200"
	}
	s.c.encodeField(":status", st)
}

// WriteHeader sends the response header block (":status" 200 unless
// given).
func (ss *serverStream) WriteHeader(h stream.Header) error {
	if ss.hdrSent {
		return errHeaderSent
	}
	if err := ss.sendState(); err != nil {
		return err
	}
	ss.respHdr = h
	ss.answered()
	c := ss.c
	c.wmu.Lock()
	if err := c.writableLocked(); err != nil {
		c.wmu.Unlock()
		return err
	}
	writeResponseHeader(c, &ss.h2stream)
	c.kickLocked()
	c.wmu.Unlock()
	return nil
}

func (ss *serverStream) pre() headerFunc {
	if ss.hdrSent {
		return nil
	}
	return writeResponseHeader
}

// Write buffers response data, after the header block.
func (ss *serverStream) Write(p []byte) (int, error) {
	ss.answered()
	return ss.write(p, ss.pre())
}

// Flush sends buffered data, blocking on flow control.
func (ss *serverStream) Flush() error {
	if ss.hdrSent && len(ss.wbuf) == 0 && !ss.unflushed.Load() {
		return ss.sendState()
	}
	return ss.send(ss.pre(), false, nil, false)
}

// Close ends the stream with the trailer block (or, with nothing sent yet,
// a trailers-only response). If the client has not ended its side, the
// stream is then reset with NO_ERROR, as RFC 9113 section 8.1 allows.
func (ss *serverStream) Close(trailer stream.Header) error {
	if ss.ended.Swap(true) {
		return errStreamClosed
	}
	ss.answered()
	c := ss.c
	var err error
	if !ss.hdrSent && len(ss.wbuf) == 0 {
		if err = ss.sendState(); err == nil {
			c.wmu.Lock()
			if err = c.writableLocked(); err == nil {
				ss.encodeStatus()
				c.encodeRegular(ss.respHdr)
				c.encodeRegular(trailer)
				c.writeHeaderBlockLocked(ss.id, true)
				ss.hdrSent = true
				c.flushLocked()
			}
			c.wmu.Unlock()
			if err == nil {
				c.localEnded(&ss.h2stream)
			}
		}
	} else {
		err = ss.send(ss.pre(), true, trailer, len(trailer) > 0)
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	rst := !ss.remoteDone
	c.mu.Unlock()
	if rst {
		ss.resetLocal(uint32(http2.ErrCodeNo), io.EOF, true)
	}
	return nil
}

// Reset aborts the stream with RST_STREAM code.
func (ss *serverStream) Reset(code uint32) {
	ss.ended.Store(true)
	ss.resetLocal(code, localResetError(code), true)
}

// hasPseudo reports whether h holds a pseudo-header (not allowed in
// trailers).
func hasPseudo(h stream.Header) bool {
	for _, f := range h {
		if f.Name[0] == ':' {
			return true
		}
	}
	return false
}
