package h2transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
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
	cause := c.closeErr
	c.mu.Unlock()
	if cause == errClosedByUser {
		return nil
	}
	return err
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
	c.connRecvWin = int64(max(o.connWindow, defaultWindow))
	c.startKeepalive(o.serverKATime, o.serverKATimeout, true)
	return c.readLoop()
}

// Shutdown sends GOAWAY, waits for the open streams and their handlers to
// end (or ctx), then closes the connection.
func (sc *serverConn) Shutdown(ctx context.Context) error {
	c := sc.c
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	already := c.goAway
	c.goAway = true
	last := c.maxPeerID
	c.mu.Unlock()
	if !already {
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
		idle := c.closed || (len(c.streams) == 0 && c.handlers == 0)
		c.mu.Unlock()
		if idle {
			break
		}
		select {
		case <-c.idle:
		case <-t.C:
		case <-c.done:
		case <-ctx.Done():
			_ = sc.Close()
			return ctx.Err()
		}
	}
	c.flushAndClose(errClosedByUser, goAwayFlushTimeout)
	return nil
}

// Close closes the connection at once; open streams fail.
func (sc *serverConn) Close() error {
	sc.c.close(errClosedByUser)
	return nil
}

// onRequestHeaders handles HEADERS from the client: a new stream or
// trailers.
func (c *conn) onRequestHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return connError{code: http2.ErrCodeProtocol, debug: "even stream id from client"}
	}
	c.mu.Lock()
	if s := c.streams[id]; s != nil {
		c.mu.Unlock()
		// Trailers end the request.
		if !f.StreamEnded() {
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
		if f.StreamEnded() {
			return nil // late trailers of a stream reset here
		}
		return connError{code: http2.ErrCodeProtocol, debug: fmt.Sprintf("stream id %d reused or decreasing", id)}
	}
	c.maxPeerID = id
	refuse := c.goAway || c.handlers >= int(c.opts.maxStreams)
	c.mu.Unlock()
	if f.Truncated {
		return streamError{id: id, code: http2.ErrCodeFrameSize}
	}
	if refuse {
		return streamError{id: id, code: http2.ErrCodeRefusedStream}
	}
	if f.PseudoValue("method") == "" || f.PseudoValue("path") == "" {
		return streamError{id: id, code: http2.ErrCodeProtocol}
	}

	ss := &serverStream{}
	s := &ss.h2stream
	s.init(c)
	s.id = id
	s.req = make(stream.Header, len(f.Fields))
	for i, hf := range f.Fields {
		s.req[i] = stream.Field{Name: hf.Name, Value: hf.Value}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if f.StreamEnded() {
		s.rEOF = true
		s.remoteDone = true
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.cancel()
		return nil
	}
	s.sendWin = c.peerInitWin
	c.streams[id] = s
	c.nactive++
	c.handlers++
	c.mu.Unlock()
	go c.runHandler(ss)
	return nil
}

// runHandler runs the connection's handler for one stream.
func (c *conn) runHandler(ss *serverStream) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("h2transport: stream handler panicked", "panic", r)
		}
		if !ss.ended.Load() {
			ss.Reset(stream.CodeInternal)
		}
		ss.releaseSend()
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

var _ stream.RawServerStream = (*serverStream)(nil)

// Context is done when the stream completes, is reset or the connection
// ends.
func (ss *serverStream) Context() context.Context { return ss.ctx }

// Header returns the request header block, pseudo-headers included.
func (ss *serverStream) Header() stream.Header { return ss.req }

// Read reads request data; io.EOF after the client ended its side.
func (ss *serverStream) Read(p []byte) (int, error) { return ss.read(p) }

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
func (ss *serverStream) Write(p []byte) (int, error) { return ss.write(p, ss.pre()) }

// Flush sends buffered data, blocking on flow control.
func (ss *serverStream) Flush() error {
	if ss.hdrSent && len(ss.wbuf) == 0 {
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
