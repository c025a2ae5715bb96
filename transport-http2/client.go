package h2transport

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// clientConn is the client side of a connection.
type clientConn struct {
	c          *conn
	readerDone chan struct{}
}

var _ stream.ClientConn = (*clientConn)(nil)

// clientHandshake sends the preface and SETTINGS, starts the reader and
// writer and waits for the server's SETTINGS.
func (c *conn) clientHandshake(readerDone chan struct{}) error {
	o := c.opts
	c.settingsCh = make(chan struct{})
	c.readerDone = readerDone
	c.wmu.Lock()
	c.wbuf = append(c.wbuf, clientPreface...)
	c.writeSettingsLocked(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(o.streamWindow)},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: o.maxHeaderListSize},
	)
	if o.connWindow > defaultWindow {
		c.writeWindowUpdateLocked(0, uint32(o.connWindow-defaultWindow))
	}
	c.kickLocked()
	c.wmu.Unlock()
	c.connRecvWin = c.connWin // before the reader starts: no lock needed
	c.startWriter()
	go func() {
		defer close(readerDone)
		c.close(c.readLoop())
	}()
	t := time.NewTimer(handshakeTimeout)
	defer t.Stop()
	select {
	case <-c.settingsCh:
	case <-t.C:
		c.close(errors.New("h2transport: no SETTINGS from the server"))
	}
	c.mu.Lock()
	closed, cause := c.closed, c.closeErr
	c.mu.Unlock()
	if closed {
		c.waitWriter()
		<-readerDone
		if errors.Is(cause, io.EOF) || errors.Is(cause, io.ErrUnexpectedEOF) || errors.Is(cause, syscall.ECONNRESET) {
			return status.Wrap(status.ErrConnect, "h2transport: handshake failed: the server closed the connection "+
				"before its HTTP/2 SETTINGS (a TLS port reached without TLS, or not an HTTP/2 server?)", cause)
		}
		return status.Wrap(status.ErrConnect, "h2transport: handshake failed", cause)
	}
	c.startKeepalive(o.keepaliveTime, o.keepaliveTimeout, o.keepaliveNoStreams)
	return nil
}

// NewStream opens a stream and queues its request header block. It waits
// for a free slot while the server's stream limit is reached (bounded by
// ctx). The header block goes out with the stream's first Flush,
// CloseSend, Header or Read call (or with any frame flushed on the
// connection before), so that a request's header and data usually share
// one write.
func (cc *clientConn) NewStream(ctx context.Context, h stream.Header) (stream.RawClientStream, error) {
	c := cc.c
	if err := ctx.Err(); err != nil {
		return nil, ctxError(err)
	}
	c.mu.Lock()
	var stop func() bool
	for {
		if c.closed {
			c.mu.Unlock()
			return nil, status.Wrap(status.ErrUnsent, "h2transport: connection closed", c.closeErr)
		}
		if c.goAway || c.nextID > maxStreamID {
			c.goAway = true
			c.mu.Unlock()
			return nil, status.Wrap(status.ErrUnsent, "h2transport: connection going away", nil)
		}
		if uint32(c.nactive) < c.peerMaxStreams {
			break
		}
		if err := ctx.Err(); err != nil {
			c.mu.Unlock()
			if stop != nil {
				stop()
			}
			return nil, ctxError(err)
		}
		if stop == nil {
			stop = context.AfterFunc(ctx, func() {
				c.mu.Lock()
				c.cond.Broadcast()
				c.mu.Unlock()
			})
		}
		c.cond.Wait()
	}
	c.nactive++ // reserve the slot
	c.busy.Store(int32(c.nactive))
	c.mu.Unlock()
	if stop != nil {
		stop()
	}

	cs := &clientStream{ctx: ctx}
	s := &cs.h2stream
	s.init(c)
	s.client = true

	c.wmu.Lock()
	if err := c.writableLocked(); err != nil {
		c.wmu.Unlock()
		c.mu.Lock()
		c.nactive--
		c.busy.Store(int32(c.nactive))
		c.cond.Broadcast()
		c.mu.Unlock()
		return nil, status.Wrap(status.ErrUnsent, "h2transport: connection closed", err)
	}
	// wmu stays held from here: ids reach the wire in increasing order.
	c.mu.Lock()
	if c.closed || c.goAway {
		c.nactive--
		c.busy.Store(int32(c.nactive))
		c.cond.Broadcast()
		c.mu.Unlock()
		c.wmu.Unlock()
		return nil, status.Wrap(status.ErrUnsent, "h2transport: connection closed or going away", nil)
	}
	s.id = c.nextID
	c.nextID += 2
	s.sendWin = c.peerInitWin
	s.recvWin = c.streamWin.Load() // under mu: raiseWindows sees it or set it
	c.streams[s.id] = s
	c.mu.Unlock()
	c.encodeRequest(h)
	c.writeHeaderBlockLocked(s.id, false)
	// Not flushed yet: the request data (or the first Header or Read
	// call) usually follows at once and goes out in the same write.
	cs.hdrQueued.Store(true)
	c.wmu.Unlock()

	if ctx.Done() != nil {
		c.mu.Lock()
		if !s.removed {
			s.watchMu.Lock()
			s.stopWatch = context.AfterFunc(ctx, cs.onCtxDone)
			s.watchMu.Unlock()
		}
		c.mu.Unlock()
	}
	return cs, nil
}

// encodeRequest encodes the request header block; wmu is held.
func (c *conn) encodeRequest(h stream.Header) {
	method, scheme, authority := "POST", c.scheme, c.authority
	for _, f := range h {
		switch f.Name {
		case ":method":
			method = f.Value
		case ":scheme":
			scheme = f.Value
		case ":authority":
			authority = f.Value
		}
	}
	c.encodeField(":method", method)
	c.encodeField(":scheme", scheme)
	c.encodeField(":path", h.Get(":path"))
	if authority != "" {
		c.encodeField(":authority", authority)
	}
	c.encodeRegular(h)
}

// Available reports whether the connection is open and not going away
// (and has stream ids left). At the peer's stream limit it is still
// available: NewStream waits for a free slot.
func (cc *clientConn) Available() bool {
	c := cc.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closed && !c.goAway && c.nextID <= maxStreamID
}

// Streams returns the number of open streams.
func (cc *clientConn) Streams() int {
	c := cc.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nactive
}

// Close sends GOAWAY and closes the connection; open streams fail.
func (cc *clientConn) Close() error {
	c := cc.c
	c.mu.Lock()
	closed := c.closed
	c.goAway = true
	c.mu.Unlock()
	if !closed {
		c.wmu.Lock()
		if c.werr == nil && !c.isClosed() {
			c.writeGoAwayLocked(0, http2.ErrCodeNo, "")
		}
		c.wmu.Unlock()
		c.flushAndClose(errClosedByUser, 100*time.Millisecond)
	}
	c.waitWriter()
	<-cc.readerDone
	return nil
}

// onResponseHeaders handles HEADERS from the server: the response header
// block or the trailer block.
func (c *conn) onResponseHeaders(f *headerBlock) error {
	id := f.id
	s := c.lookup(id)
	if s == nil {
		if c.idleID(id) {
			return connError{code: http2.ErrCodeProtocol, debug: "HEADERS on idle stream"}
		}
		return nil // a stream reset here; the block was decoded
	}
	if f.truncated {
		return streamError{id: id, code: http2.ErrCodeFrameSize}
	}
	if f.invalid {
		return streamError{id: id, code: http2.ErrCodeProtocol}
	}
	fields := f.fields
	ended := f.end
	s.mu.Lock()
	if !s.hdrSet {
		st := f.get(":status")
		if st == "" {
			s.mu.Unlock()
			return streamError{id: id, code: http2.ErrCodeProtocol}
		}
		if len(st) == 3 && st[0] == '1' {
			s.mu.Unlock()
			if ended {
				return streamError{id: id, code: http2.ErrCodeProtocol}
			}
			return nil // informational response
		}
		s.hdr = fields
		s.hdrSet = true
		if ended {
			s.trailer = fields // trailers-only
		}
		s.notifyLocked()
	} else {
		if !ended || s.rEOF || hasPseudo(fields) {
			s.mu.Unlock()
			return streamError{id: id, code: http2.ErrCodeProtocol}
		}
		s.trailer = fields
	}
	if ended {
		s.rEOF = true
		s.notifyLocked()
	}
	s.mu.Unlock()
	if ended {
		c.remoteEnded(s)
	}
	return nil
}

// clientStream is one stream of a client connection.
type clientStream struct {
	h2stream
	ctx       context.Context
	hdrQueued atomic.Bool // the request header block may still be unsent
}

// sendQueued flushes the request header block if nothing flushed it yet.
func (cs *clientStream) sendQueued() {
	if cs.unflushed.Load() {
		cs.hdrQueued.Store(false)
		cs.flushQueued()
		return
	}
	if !cs.hdrQueued.Swap(false) {
		return
	}
	c := cs.c
	c.wmu.Lock()
	if c.pendingLocked() > 0 && c.werr == nil && !c.isClosed() {
		c.flushLocked()
	}
	c.wmu.Unlock()
}

var (
	_ stream.RawClientStream = (*clientStream)(nil)
	_ stream.Lender          = (*clientStream)(nil)
)

func (cs *clientStream) onCtxDone() {
	cs.resetLocal(uint32(http2.ErrCodeCancel), ctxError(cs.ctx.Err()), true)
}

// Context returns the context the stream was opened with.
func (cs *clientStream) Context() context.Context { return cs.ctx }

// Write buffers request data; full chunks are sent at once, blocking on
// flow control.
func (cs *clientStream) Write(p []byte) (int, error) { return cs.write(p, nil) }

// Flush sends buffered data.
func (cs *clientStream) Flush() error {
	if len(cs.wbuf) == 0 && !cs.unflushed.Load() {
		cs.sendQueued()
		return cs.sendState()
	}
	cs.hdrQueued.Store(false)
	return cs.send(nil, false, nil, false)
}

// CloseSend sends the buffered data and ends the request side. After the
// server ended the stream it does nothing and returns nil.
func (cs *clientStream) CloseSend() error {
	cs.hdrQueued.Store(false)
	err := cs.send(nil, true, nil, false)
	cs.releaseSend()
	if err == errServerDone {
		return nil
	}
	return err
}

// Header waits for the response header block.
func (cs *clientStream) Header() (stream.Header, error) {
	cs.sendQueued()
	cs.mu.Lock()
	for !cs.hdrSet && !cs.rEOF && cs.rerr == nil {
		cs.rcond.Wait()
	}
	hdr, rerr, ended := cs.hdr, cs.rerr, cs.rEOF || cs.rerr != nil
	cs.mu.Unlock()
	if ended {
		cs.dropWatch() // a trailers-only response or a failed stream: the call may end now
	}
	if hdr == nil {
		if rerr != nil {
			return nil, rerr
		}
		return nil, status.New(status.Internal, "h2transport: stream ended without a header block")
	}
	return hdr, nil
}

// Read reads response data; io.EOF after the server ended the stream.
func (cs *clientStream) Read(p []byte) (int, error) {
	cs.sendQueued()
	n, err := cs.read(p)
	if err != nil {
		err = cs.ended(err)
	}
	return n, err
}

// Lend implements stream.Lender: it returns the response data buffered,
// waiting as Read does, without copying it; Consume ends the loan.
func (cs *clientStream) Lend() ([]byte, error) {
	cs.sendQueued()
	b, err := cs.lend()
	if err != nil && err != errLentTwice { // misuse does not end the stream
		err = cs.ended(err)
	}
	return b, err
}

// Consume implements stream.Lender: the first n bytes of the last Lend
// are read, and the lent bytes are no longer valid.
func (cs *clientStream) Consume(n int) { cs.consume(n) }

// ended handles err, the error that ends the reading of the response
// (io.EOF included), and returns what the reader gets.
func (cs *clientStream) ended(err error) error {
	cs.dropWatch() // the stream has ended: the call may end now
	if err == io.EOF {
		cs.mu.Lock()
		if !cs.hdrSet || cs.hdr == nil {
			err = status.New(status.Internal, "h2transport: stream ended without a header block")
		}
		cs.mu.Unlock()
	}
	return err
}

// Trailer returns the trailer block (for a trailers-only response, the
// one header block); valid after Read returned io.EOF.
func (cs *clientStream) Trailer() stream.Header {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.trailer
}

// Reset aborts the stream with RST_STREAM code.
func (cs *clientStream) Reset(code uint32) {
	cs.resetLocal(code, localResetError(code), true)
}
