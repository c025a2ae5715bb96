package ttheader

import (
	"context"
	"io"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"sync"
	"sync/atomic"
)

// tstream is one ttstream stream, the server side (RawServerStream) or the
// client side (RawClientStream).
type tstream struct {
	c      *tconn
	id     int32
	method string
	proto  uint8

	ctx     context.Context
	cancel  context.CancelCauseFunc // server streams
	stopCtx func() bool             // client streams: stops the ctx watch

	reqHeader stream.Header // server: the request header block

	wbuf []byte // Write's buffer; used by the writing goroutine only

	oweGen atomic.Uint32 // the write hold s owes a settle to (streamhold.go)

	mu   sync.Mutex
	cond sync.Cond

	// receive side
	rq       [][]byte // pending data frame payloads
	rEOF     bool     // the peer's trailer came
	rerr     error    // the stream failed (reset, connection lost)
	fcRecv   bool     // return credit with window frames
	consumed int      // bytes read since the last credit

	// send side
	fcSend     bool  // obey sendWin
	sendWin    int64 // bytes the peer can take
	sent       int64 // client: data bytes sent before the first credit
	hdrSent    bool  // server: header frame sent
	localEnded bool  // trailer or rst sent
	ended      bool  // the stream is over (both sides, or reset)

	// client: response
	hdrDone        chan struct{} // closed when respHeader is set or the stream failed
	respHeader     stream.Header
	trailer        stream.Header
	trailerPayload []byte
}

func newTStream(c *tconn, id int32, method string) *tstream {
	s := &tstream{c: c, id: id, method: method}
	s.cond.L = &s.mu
	return s
}

var (
	_ stream.RawServerStream = serverStream{}
	_ stream.RawClientStream = clientStream{}
	_ MsgStream              = serverStream{}
	_ MsgStream              = clientStream{}
	_ TrailerPayloader       = clientStream{}
	_ PayloadCloser          = serverStream{}
)

// serverStream is the server side of a stream.
type serverStream struct{ *tstream }

// clientStream is the client side of a stream.
type clientStream struct{ *tstream }

// Context implements stream.RawServerStream and stream.RawClientStream.
func (s *tstream) Context() context.Context { return s.ctx }

// ---- receiving (reader goroutine) ----

func (s *tstream) onData(p []byte) {
	s.mu.Lock()
	if !s.rEOF && s.rerr == nil {
		s.rq = append(s.rq, p)
		s.cond.Broadcast()
	}
	s.mu.Unlock()
}

func (s *tstream) onHeader(f *Frame) {
	if s.c.server {
		return
	}
	h := stream.Header{{Name: ":status", Value: "200"}}
	for _, kv := range f.Meta.Strs {
		h.Add(kv.Key, kv.Value)
	}
	s.mu.Lock()
	if s.respHeader == nil && s.rerr == nil {
		s.respHeader = h
		close(s.hdrDone)
	}
	s.mu.Unlock()
}

func (s *tstream) onTrailer(f *Frame) {
	var t stream.Header
	for _, kv := range f.Meta.Strs {
		t.Add(kv.Key, kv.Value)
	}
	s.mu.Lock()
	if s.rEOF || s.rerr != nil {
		s.mu.Unlock()
		return
	}
	s.rEOF = true
	s.cond.Broadcast()
	if s.c.server {
		s.mu.Unlock()
		return
	}
	s.trailer, s.trailerPayload = t, f.Payload
	if s.respHeader == nil {
		// Trailers only: the header block is the trailer's.
		s.respHeader = append(stream.Header{{Name: ":status", Value: "200"}}, t...)
		close(s.hdrDone)
	}
	// The server ended the stream: it is over, whether or not the client
	// closed its side (later writes fail).
	s.ended = true
	stop := s.stopCtx
	s.mu.Unlock()
	s.c.remove(s)
	if stop != nil {
		stop()
	}
}

func (s *tstream) onRst(f *Frame) {
	e := &ResetError{}
	if len(f.Payload) > 0 {
		e.Exception, _ = DecodeException(f.Payload)
	}
	e.Code = resetCode(e.Exception)
	e.CancelPath, _ = f.Meta.Str(KeyCancelPath)
	if s.fail(e) {
		s.c.remove(s)
	}
}

// onWindow adds n bytes of credit. On a client stream still without flow
// control (opened before the server's answer to the preface), it turns
// flow control on with the server's window; what was sent counts against
// it.
func (s *tstream) onWindow(n int64) {
	s.mu.Lock()
	if !s.fcSend {
		s.fcSend, s.fcRecv = true, true
		s.sendWin = s.c.peerWindowLocked() - s.sent
	}
	s.sendWin += n
	s.cond.Broadcast()
	s.mu.Unlock()
}

// fail ends the stream with err (the peer reset it, or the connection
// ended); it reports whether the stream was still going.
func (s *tstream) fail(err error) bool {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	// The context ends first: whoever sees the stream failed (a write
	// woken below) finds its context done too.
	if s.cancel != nil {
		s.cancel(err)
	}
	s.ended, s.localEnded, s.rerr = true, true, err
	s.rq = nil
	s.cond.Broadcast()
	if s.hdrDone != nil && s.respHeader == nil {
		close(s.hdrDone)
	}
	stop := s.stopCtx
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	return true
}

// ---- reading (the stream's reading goroutine) ----

// next waits for data and returns the head payload, or an error.
func (s *tstream) waitData() error {
	for len(s.rq) == 0 {
		if s.rerr != nil {
			return s.rerr
		}
		if s.rEOF {
			return io.EOF
		}
		if s.oweGen.Load() != 0 {
			// Waiting for more: it writes nothing before (streamhold.go).
			s.mu.Unlock()
			s.c.settle(s)
			s.mu.Lock()
			continue
		}
		s.cond.Wait()
	}
	return nil
}

// credit records n bytes consumed and returns the credit to send, if any.
func (s *tstream) credit(n int) int {
	s.consumed += n
	if !s.fcRecv || s.ended || s.rEOF || s.consumed < s.c.p.o.window/4 {
		return 0
	}
	n, s.consumed = s.consumed, 0
	return n
}

func (s *tstream) sendCredit(n int) {
	if n > 0 {
		_ = s.c.writeFrames(windowFrame(s.id, n))
	}
}

// Read implements stream.RawServerStream and stream.RawClientStream.
func (s *tstream) Read(p []byte) (int, error) {
	s.mu.Lock()
	if err := s.waitData(); err != nil {
		s.mu.Unlock()
		s.c.settle(s) // the stream ended: nothing more to answer (streamhold.go)
		return 0, err
	}
	n := copy(p, s.rq[0])
	if n == len(s.rq[0]) {
		s.rq[0] = nil
		s.rq = s.rq[1:]
	} else {
		s.rq[0] = s.rq[0][n:]
	}
	cr := s.credit(n)
	s.mu.Unlock()
	s.sendCredit(cr)
	return n, nil
}

// ReadMsg implements MsgStream.
func (s *tstream) ReadMsg() ([]byte, error) {
	s.mu.Lock()
	if err := s.waitData(); err != nil {
		s.mu.Unlock()
		s.c.settle(s) // the stream ended: nothing more to answer (streamhold.go)
		return nil, err
	}
	m := s.rq[0]
	s.rq[0] = nil
	s.rq = s.rq[1:]
	cr := s.credit(len(m))
	s.mu.Unlock()
	s.sendCredit(cr)
	return m, nil
}

// ---- writing (the stream's writing goroutine) ----

// writable reports the error that stops writing, if any.
func (s *tstream) writableLocked() error {
	switch {
	case s.rerr != nil:
		return s.rerr
	case s.localEnded || s.ended:
		return status.New(status.Internal, "ttstream: write on a stream that ended")
	}
	return nil
}

// sendData sends p as one data frame once the peer has window for it: a
// frame may exceed what is left of the window (a message is never split),
// but none is sent while the window is used up. p is not kept.
func (s *tstream) sendData(p []byte) error {
	s.mu.Lock()
	for {
		if err := s.writableLocked(); err != nil {
			s.mu.Unlock()
			return err
		}
		if !s.fcSend || s.sendWin > 0 {
			break
		}
		if s.oweGen.Load() != 0 {
			s.mu.Unlock()
			s.c.settle(s) // it waits for window: nothing to write before
			s.mu.Lock()
			continue
		}
		s.cond.Wait()
	}
	if s.fcSend {
		s.sendWin -= int64(len(p))
	} else {
		s.sent += int64(len(p))
	}
	hdr := s.headerFirstLocked()
	s.mu.Unlock()
	data := Frame{Type: FrameData, StreamID: s.id, Method: s.method, ProtocolID: s.proto, Payload: p}
	if hdr {
		h := Frame{Type: FrameHeader, StreamID: s.id, Method: s.method}
		return s.c.writeFor(s, &h, &data)
	}
	return s.c.writeFor(s, &data)
}

// headerFirstLocked reports whether the server's header frame is still to
// be sent (and marks it sent).
func (s *tstream) headerFirstLocked() bool {
	if !s.c.server || s.hdrSent {
		return false
	}
	s.hdrSent = true
	return true
}

// Write implements stream.RawServerStream and stream.RawClientStream:
// data is sent in frames of up to 64 KiB.
func (s *tstream) Write(p []byte) (int, error) {
	s.mu.Lock()
	err := s.writableLocked()
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	s.wbuf = append(s.wbuf, p...)
	for len(s.wbuf) >= streamChunk {
		if err := s.sendData(s.wbuf[:streamChunk:streamChunk]); err != nil {
			return 0, err
		}
		s.wbuf = s.wbuf[streamChunk:]
	}
	if len(s.wbuf) == 0 {
		s.wbuf = nil
	}
	return len(p), nil
}

// Flush implements stream.RawServerStream and stream.RawClientStream.
func (s *tstream) Flush() error {
	if len(s.wbuf) > 0 {
		b := s.wbuf
		s.wbuf = nil
		return s.sendData(b)
	}
	s.mu.Lock()
	err := s.writableLocked()
	hdr := err == nil && s.headerFirstLocked()
	s.mu.Unlock()
	if !hdr {
		return err
	}
	return s.c.writeFor(s, &Frame{Type: FrameHeader, StreamID: s.id, Method: s.method})
}

// WriteMsg implements MsgStream. p is copied into the connection's
// buffer before WriteMsg returns; the caller may reuse it.
func (s *tstream) WriteMsg(p []byte) error {
	if err := s.Flush(); err != nil {
		return err
	}
	return s.sendData(p)
}

// ---- server side ----

// Header implements stream.RawServerStream: the request header block.
func (s serverStream) Header() stream.Header { return s.reqHeader }

// WriteHeader implements stream.RawServerStream.
func (s serverStream) WriteHeader(h stream.Header) error {
	s.mu.Lock()
	if err := s.writableLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	if s.hdrSent {
		s.mu.Unlock()
		return status.New(status.Internal, "ttstream: header already sent")
	}
	s.hdrSent = true
	s.mu.Unlock()
	f := &Frame{Type: FrameHeader, StreamID: s.id, Method: s.method}
	f.Meta.Strs = fieldsToStrs(h)
	return s.c.writeFor(s.tstream, f)
}

// fieldsToStrs turns header fields into string keys, leaving out
// pseudo-header fields.
func fieldsToStrs(h stream.Header) []codec.StrKV {
	var out []codec.StrKV
	for _, f := range h {
		if len(f.Name) > 0 && f.Name[0] == ':' {
			continue
		}
		out = append(out, codec.StrKV{Key: f.Name, Value: f.Value})
	}
	return out
}

// Close implements stream.RawServerStream: buffered data, then a trailer
// frame with the fields. Without a header frame before it, the client
// sees a trailers-only response (Kitex sends no header frame then either).
func (s serverStream) Close(trailer stream.Header) error {
	return s.CloseWithPayload(trailer, nil)
}

// CloseWithPayload implements PayloadCloser.
func (s serverStream) CloseWithPayload(trailer stream.Header, payload []byte) error {
	if len(s.wbuf) > 0 {
		if err := s.Flush(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if err := s.writableLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	s.localEnded, s.ended = true, true
	s.cond.Broadcast()
	s.mu.Unlock()
	f := &Frame{Type: FrameTrailer, StreamID: s.id, Method: s.method, Payload: payload}
	f.Meta.Strs = fieldsToStrs(trailer)
	err := s.c.writeFor(s.tstream, f)
	s.c.remove(s.tstream)
	s.cancel(context.Canceled)
	return err
}

// Reset implements stream.RawServerStream and stream.RawClientStream.
func (s *tstream) Reset(code uint32) {
	s.resetWith(code, status.New(status.Canceled, "ttstream: stream reset"))
}

// resetWith sends an rst frame (unless the stream already ended) and
// fails the stream locally with err.
func (s *tstream) resetWith(code uint32, err error) {
	if !s.fail(err) {
		return
	}
	payload := AppendException(nil, s.method, s.id, resetException(code))
	_ = s.c.writeFor(s, &Frame{Type: FrameRst, StreamID: s.id, Method: s.method, Payload: payload})
	s.c.remove(s)
}

// ---- client side ----

// CloseSend implements stream.RawClientStream: buffered data, then an
// empty trailer frame, as Kitex ends a client's side.
func (s clientStream) CloseSend() error {
	if len(s.wbuf) > 0 {
		if err := s.Flush(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.localEnded || s.ended {
		err := s.rerr
		s.mu.Unlock()
		return err
	}
	s.localEnded = true
	s.mu.Unlock()
	return s.c.writeFor(s.tstream, &Frame{Type: FrameTrailer, StreamID: s.id, Method: s.method})
}

// Header implements stream.RawClientStream: it waits for the response
// header block.
func (s clientStream) Header() (stream.Header, error) {
	<-s.hdrDone
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.respHeader != nil {
		return s.respHeader, nil
	}
	return nil, s.rerr
}

// Trailer implements stream.RawClientStream.
func (s clientStream) Trailer() stream.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trailer
}

// TrailerPayload implements TrailerPayloader.
func (s clientStream) TrailerPayload() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trailerPayload
}
