package ttheader

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/core/transport"
)

// Content types that a ttstream server stream's request header carries
// (synthesised from the frame's protocol id), and that a client's request
// header may give to choose the protocol id.
const (
	ContentTypeThrift   = "application/x-ttstream+thrift"
	ContentTypeProtobuf = "application/x-ttstream+protobuf"
)

// StreamProtocol is TTHeader Streaming ("ttstream"), Kitex's streamx
// transport, as a core stream protocol: every stream is a header frame,
// data frames and a trailer (or rst) frame in each direction, many streams
// sharing one connection. It is safe for concurrent use.
//
// Streams map onto the raw stream SPI as follows. The request header's
// ":path" "/Service/Method" becomes the string key "isn" and int key 9;
// "content-type" chooses the payload protocol id (see [ContentTypeThrift]);
// other fields travel as string keys. A server stream's Header gives
// ":method" POST, ":scheme" "ttstream", ":authority" (the local address
// unless the client sent one), ":path", "content-type" and the string keys.
// Response header and trailer fields are header and trailer frame string
// keys; a client's CloseSend sends an empty trailer frame, as Kitex does.
// Reset sends an rst frame with a Thrift exception.
//
// The streams also have message methods (WriteMsg, ReadMsg) that send and
// receive one data frame per message, the form Kitex requires; see
// [MsgStream].
type StreamProtocol struct {
	o streamOptions
}

// TTStream is the ttstream protocol with default options, registered with
// the core stream registry when this package is imported, so servers
// serve it on their port (it is sniffed by the streaming flag).
var TTStream = NewStreamProtocol()

func init() { stream.Register(TTStream) }

var _ stream.Protocol = (*StreamProtocol)(nil)

// NewStreamProtocol returns a ttstream protocol configured by opts.
func NewStreamProtocol(opts ...StreamOption) *StreamProtocol {
	p := &StreamProtocol{o: streamOptions{window: DefaultStreamWindow, maxFrame: transport.DefaultMaxFrameSize}}
	for _, o := range opts {
		o.apply(&p.o)
	}
	return p
}

// Name returns "ttstream".
func (p *StreamProtocol) Name() string { return "ttstream" }

// Detect reports whether prefix starts a ttstream frame: the TTHeader
// magic 0x1000 at offset 4 and the streaming flag 0x0002 in the flags at
// offset 6, as Kitex's server detects it.
func (p *StreamProtocol) Detect(prefix []byte) bool {
	return len(prefix) >= 8 && prefix[0]&0x80 == 0 && prefix[4] == 0x10 && prefix[5] == 0 &&
		binary.BigEndian.Uint16(prefix[6:])&FlagStreaming != 0
}

// MsgStream is the message interface of ttstream streams, which both the
// server and the client raw streams of [StreamProtocol] implement; a
// stream codec finds it with a type assertion.
type MsgStream interface {
	// WriteMsg sends p as one data frame, after any buffered data (and,
	// on a server stream, the header frame if not sent). It blocks on
	// flow control. p is not kept after WriteMsg returns.
	WriteMsg(p []byte) error
	// ReadMsg returns the payload of the next data frame (what a Read
	// left of it, if Read was used); io.EOF once the peer's trailer
	// came. The slice is the caller's.
	ReadMsg() ([]byte, error)
}

// TrailerPayloader is implemented by client streams of [StreamProtocol]:
// TrailerPayload returns the payload of the server's trailer frame (an
// encoded Thrift exception when the call failed), valid after Read
// returned io.EOF.
type TrailerPayloader interface {
	TrailerPayload() []byte
}

// PayloadCloser is implemented by server streams of [StreamProtocol]:
// CloseWithPayload is Close with a trailer frame payload (an encoded
// Thrift exception, see [AppendException]).
type PayloadCloser interface {
	CloseWithPayload(trailer stream.Header, payload []byte) error
}

// ResetError is the error a stream's reads return after the peer reset it
// with an rst frame.
type ResetError struct {
	// Code is the reset code: stream.CodeCancel for Kitex's cancel
	// exceptions, stream.CodeRefused for 12006 (the server was closing),
	// stream.CodeInternal otherwise.
	Code uint32
	// Exception is the rst frame's exception, nil if it had none.
	Exception *Exception
	// CancelPath is the frame's "ttscp" key, if any.
	CancelPath string
}

// Error implements error.
func (e *ResetError) Error() string {
	s := "ttstream: stream reset by peer"
	if e.Exception != nil {
		s += ": " + e.Exception.Error()
	}
	if e.CancelPath != "" {
		s += " (cancel path " + e.CancelPath + ")"
	}
	return s
}

// Is makes a ResetError match status.ErrCanceled when it is a cancel, and
// status.ErrUnsent when the server refused the stream.
func (e *ResetError) Is(target error) bool {
	switch target {
	case status.ErrCanceled:
		return e.Code == stream.CodeCancel
	case status.ErrUnsent:
		return e.Code == stream.CodeRefused
	}
	return false
}

func resetException(code uint32) *Exception {
	switch code {
	case stream.CodeCancel, stream.CodeNo:
		return &Exception{TypeID: TypeBizCancel, Message: "stream canceled"}
	case stream.CodeRefused:
		return &Exception{TypeID: TypeTransportClosing, Message: "stream refused: server shutting down"}
	}
	return &Exception{TypeID: TypeInternalCancel, Message: fmt.Sprintf("stream reset (code %d)", code)}
}

func resetCode(e *Exception) uint32 {
	if e == nil {
		return stream.CodeInternal
	}
	switch e.TypeID {
	case TypeTransportClosing:
		return stream.CodeRefused
	case TypeBizCancel, 12008, TypeDownstreamCancel, TypeUpstreamCancel, TypeHandlerReturn, TypeConnClosed:
		return stream.CodeCancel
	}
	return stream.CodeInternal
}

// NewServerConn implements stream.Protocol.
func (p *StreamProtocol) NewServerConn(c conn.Conn, prm stream.ServerConnParams) (stream.ServerConn, error) {
	if prm.Handler == nil {
		return nil, errors.New("ttstream: ServerConnParams.Handler is nil")
	}
	tc := newTConn(p, c, true, prm.Logger)
	tc.handler = prm.Handler
	return tc, nil
}

// NewClientConn implements stream.Protocol. ttstream has no handshake:
// the client sends a meta frame on stream 0 at once (so that a server
// can sniff the connection before the first stream; Kitex servers ignore
// frames of stream 0), and the connection's reader starts.
func (p *StreamProtocol) NewClientConn(c conn.Conn, prm stream.ClientConnParams) (stream.ClientConn, error) {
	tc := newTConn(p, c, false, prm.Logger)
	tc.authority = prm.Authority
	preface := &Frame{Type: FrameMeta}
	if w := p.o.window; w > 0 {
		// Announces flow control; a Skiff server with it on answers.
		preface.Meta.Ints = []codec.IntKV{{Key: KeyFlowWindow, Value: strconv.Itoa(w)}}
	}
	if err := tc.writeFrames(preface); err != nil {
		return nil, err
	}
	go func() { _ = tc.serve() }()
	return tc, nil
}

// tconn is one ttstream connection, server or client side.
type tconn struct {
	p         *StreamProtocol
	c         conn.Conn
	server    bool
	log       *slog.Logger
	handler   func(stream.RawServerStream)
	authority string

	wmu     sync.Mutex
	wcond   sync.Cond // on wmu: a flush ended
	wbuf    []byte    // encoded frames waiting for a flush
	wspare  []byte    // the other buffer
	wbusy   bool      // a goroutine is flushing
	werr    error     // the write error that closed the connection
	hold    writeHold // write coalescing (streamhold.go)
	wclosed bool      // closeWith ran

	mu         sync.Mutex
	streams    map[int32]*tstream
	nextID     int32
	goingAway  bool          // server: Shutdown began; client: the server said it is going away
	peerFC     bool          // both sides announced flow control on stream 0
	peerWindow int64         // client: the server's receive window per stream
	closed     bool          // c is closed (or closing)
	closeErr   error         // why, for streams that fail
	changed    chan struct{} // closed and replaced when streams empties or the conn closes
	rdOwed     bool          // reader only: streams owe since the input last drained
	done       chan struct{} // closed when the reader ends
}

func newTConn(p *StreamProtocol, c conn.Conn, server bool, l *slog.Logger) *tconn {
	if l == nil {
		l = slog.Default()
	}
	tc := &tconn{p: p, c: c, server: server, log: l, streams: map[int32]*tstream{},
		changed: make(chan struct{}), done: make(chan struct{})}
	tc.wcond.L = &tc.wmu
	return tc
}

// signalLocked wakes those waiting for a change of the stream set.
func (c *tconn) signalLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// maxPendingWrite bounds the encoded frames waiting for a flush: a writer
// that finds more waits for the flush in progress.
const maxPendingWrite = 4 << 20

// writeFrames encodes fs into the connection's write buffer and makes sure
// it is flushed. Writes combine: when no flush is in progress the caller
// flushes, and keeps flushing while others add frames meanwhile; when one
// is, the caller's frames go out with the flusher's next write and it
// returns at once. So under load many frames leave in one system call,
// and an idle connection still writes at once. A write error closes the
// connection.
func (c *tconn) writeFrames(fs ...*Frame) error { return c.writeFor(nil, fs...) }

// writeFor is writeFrames for the goroutine serving s (nil for none): its
// queued frames settle what s owes (streamhold.go).
func (c *tconn) writeFor(s *tstream, fs ...*Frame) error {
	c.wmu.Lock()
	for c.wbusy && len(c.wbuf) >= maxPendingWrite && c.werr == nil {
		c.wcond.Wait()
	}
	if c.werr != nil {
		err := c.werr
		c.wmu.Unlock()
		return err
	}
	n := len(c.wbuf)
	for _, f := range fs {
		var err error
		if c.wbuf, err = AppendFrame(c.wbuf, f); err != nil {
			c.wbuf = c.wbuf[:n] // this frame only: nothing of it is sent
			c.wmu.Unlock()
			return err
		}
	}
	released := s != nil && c.settleLocked(s)
	if c.wbusy || (!released && c.heldLocked()) {
		// The flush in progress, or the end of the hold, writes them.
		c.wmu.Unlock()
		return nil
	}
	return c.flushLocked()
}

// flushLocked writes the queue until it is empty or held; wmu is held,
// no flush is in progress, and wmu is released on return.
func (c *tconn) flushLocked() error {
	c.wbusy = true
	w := c.c.Writer()
	for len(c.wbuf) > 0 && c.werr == nil && !c.heldLocked() {
		buf := c.wbuf
		c.wbuf = c.wspare[:0]
		c.wmu.Unlock()
		err := writeOut(c.c, w, buf)
		c.wmu.Lock()
		if cap(buf) <= maxPendingWrite {
			c.wspare = buf[:0]
		} else {
			c.wspare = nil // let a large buffer go (and never alias c.wbuf)
		}
		if err != nil {
			c.werr = status.Wrap(status.ErrConnLost, "ttstream: write", err)
		}
		c.wcond.Broadcast()
	}
	c.wbusy = false
	err := c.werr
	c.wcond.Broadcast()
	c.wmu.Unlock()
	if err != nil {
		c.closeWith(err)
	}
	return err
}

// writeOut writes buf to c and flushes. The engine may close c at any
// time (a server's exit wait ending, a peer hanging up), and Netpoll frees
// a connection's buffers on close, so writing to a closed connection can
// panic inside Netpoll: writeOut checks that c is open first and turns
// such a panic into an error.
func writeOut(c conn.Conn, w conn.Writer, buf []byte) (err error) {
	if !c.IsActive() {
		return net.ErrClosed
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w (write on a closing connection: %v)", net.ErrClosed, p)
		}
	}()
	if _, err = w.WriteBinary(buf); err == nil {
		err = w.Flush()
	}
	return err
}

// drain waits until every frame written so far is flushed, the connection
// failed, or d passed.
func (c *tconn) drain(d time.Duration) {
	timedOut := false
	t := time.AfterFunc(d, func() {
		c.wmu.Lock()
		timedOut = true
		c.wcond.Broadcast()
		c.wmu.Unlock()
	})
	defer t.Stop()
	c.wmu.Lock()
	for (c.wbusy || len(c.wbuf) > 0) && c.werr == nil && !c.wclosed && !timedOut {
		c.wcond.Wait()
	}
	c.wmu.Unlock()
}

// Serve implements stream.ServerConn.
func (c *tconn) Serve() error { return c.serve() }

// serve reads frames until the connection ends.
func (c *tconn) serve() error {
	defer close(c.done)
	r := c.c.Reader()
	var f Frame
	for {
		err := ReadFrame(r, &f, c.p.o.maxFrame)
		_ = r.Release()
		if err == nil {
			err = c.dispatch(&f)
			if c.rdOwed && nextFrameWaits(r) {
				c.rdOwed = false
				c.readDrained() // the wake-up's work is known (streamhold.go)
			}
		}
		if err != nil {
			c.mu.Lock()
			local := c.closed
			c.mu.Unlock()
			var fe *FrameError
			if errors.As(err, &fe) {
				c.log.Warn("ttstream: closing connection on a bad frame", "remote", c.c.RemoteAddr(), "err", err)
			}
			c.closeWith(status.Wrap(status.ErrConnLost, "ttstream: connection closed", err))
			if local || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// oweFor makes s owe a settle (streamhold.go) unless its side has ended;
// the reader calls it before handing s a frame.
func (c *tconn) oweFor(s *tstream) {
	s.mu.Lock()
	done := s.localEnded || s.ended
	s.mu.Unlock()
	if !done {
		c.owe(s)
		c.rdOwed = true
	}
}

func (c *tconn) lookup(id int32) *tstream {
	c.mu.Lock()
	s := c.streams[id]
	c.mu.Unlock()
	return s
}

// dispatch handles one frame; an error closes the connection.
func (c *tconn) dispatch(f *Frame) error {
	if f.StreamID == 0 {
		if f.Type != FrameMeta {
			return nil // connection frames Skiff does not know are ignored, as in Kitex
		}
		if !c.server {
			if _, ok := f.Meta.Str(KeyConnReset); ok {
				c.mu.Lock()
				c.goingAway = true
				c.mu.Unlock()
			}
		}
		if v, ok := f.Meta.Int(KeyFlowWindow); ok && c.p.o.window > 0 {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n <= 0 {
				return frameErr("bad flow-control window %q", clipKey(v))
			}
			c.peerFlowControl(n)
		}
		return nil
	}
	if f.Type == FrameHeader && c.server {
		return c.openServerStream(f)
	}
	s := c.lookup(f.StreamID)
	if s == nil {
		return nil // a stream that ended: Kitex ignores such frames too
	}
	switch f.Type {
	case FrameHeader:
		s.onHeader(f)
	case FrameData:
		c.oweFor(s)
		s.onData(f.Payload)
	case FrameTrailer:
		c.oweFor(s)
		s.onTrailer(f)
	case FrameRst:
		s.onRst(f)
	case FrameWindow:
		v, _ := f.Meta.Int(KeyFlowWindow)
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n <= 0 {
			return frameErr("bad window increment %q", clipKey(v))
		}
		s.onWindow(n)
	}
	return nil
}

// peerFlowControl handles the peer's flow-control announcement on stream
// 0. On a server (the client's preface), it answers with its own window;
// on a client (that answer), every stream uses the server's window from
// then on, and the streams already open switch to it (what they sent
// counts against it).
func (c *tconn) peerFlowControl(n int64) {
	c.mu.Lock()
	if c.peerFC {
		c.mu.Unlock()
		return
	}
	c.peerFC, c.peerWindow = true, n
	var open []*tstream
	if !c.server {
		for _, s := range c.streams {
			open = append(open, s)
		}
	}
	c.mu.Unlock()
	if c.server {
		f := &Frame{Type: FrameMeta}
		f.Meta.Ints = []codec.IntKV{{Key: KeyFlowWindow, Value: strconv.Itoa(c.p.o.window)}}
		_ = c.writeFrames(f)
		return
	}
	for _, s := range open {
		s.onWindow(0)
	}
}

// openServerStream starts a stream for a client's header frame.
func (c *tconn) openServerStream(f *Frame) error {
	c.mu.Lock()
	if _, dup := c.streams[f.StreamID]; dup {
		c.mu.Unlock()
		return frameErr("header frame for stream %d, which is open", f.StreamID)
	}
	if c.goingAway || c.closed {
		c.mu.Unlock()
		payload := AppendException(nil, f.Method, f.StreamID, resetException(stream.CodeRefused))
		_ = c.writeFrames(&Frame{Type: FrameRst, StreamID: f.StreamID, Method: f.Method, Payload: payload})
		return nil
	}
	s := newTStream(c, f.StreamID, f.Method)
	s.reqHeader = c.requestHeader(f)
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	if v, ok := f.Meta.Int(KeyFlowWindow); ok && c.peerFC {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n > 0 {
			// Both sides do flow control (the client's preface said so
			// and this server answered): the client's window for this
			// stream is n, this server's is its own, from the start.
			s.fcSend, s.sendWin, s.fcRecv = true, n, true
		}
	}
	c.streams[f.StreamID] = s
	c.mu.Unlock()
	go c.runHandler(serverStream{s})
	return nil
}

func windowFrame(id int32, n int) *Frame {
	f := &Frame{Type: FrameWindow, StreamID: id}
	f.Meta.Ints = []codec.IntKV{{Key: KeyFrameType, Value: "100"}, {Key: KeyFlowWindow, Value: strconv.Itoa(n)}}
	return f
}

func (c *tconn) runHandler(s serverStream) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("ttstream: stream handler panicked", "remote", c.c.RemoteAddr(), "panic", p, "stack", string(debug.Stack()))
		}
		s.Reset(stream.CodeInternal) // does nothing when the handler ended the stream
	}()
	c.handler(s)
}

// requestHeader is the header block a server stream shows for a header
// frame.
func (c *tconn) requestHeader(f *Frame) stream.Header {
	h := make(stream.Header, 0, 5+len(f.Meta.Strs))
	h.Add(":method", "POST")
	h.Add(":scheme", "ttstream")
	auth, ok := f.Meta.Str(":authority")
	if !ok {
		if a := c.c.LocalAddr(); a != nil {
			auth = a.String()
		}
	}
	h.Add(":authority", auth)
	path, ok := f.Meta.Str(":path")
	if !ok {
		isn, _ := f.Meta.Str(KeyIDLServiceName)
		path = "/" + isn + "/" + f.Method
	}
	h.Add(":path", path)
	if ct, ok := f.Meta.Str("content-type"); ok {
		h.Add("content-type", ct)
	} else if f.ProtocolID == ProtocolProtobufStruct {
		h.Add("content-type", ContentTypeProtobuf)
	} else {
		h.Add("content-type", ContentTypeThrift)
	}
	for _, kv := range f.Meta.Strs {
		switch kv.Key {
		case ":authority", ":path", "content-type", KeyIDLServiceName:
			continue
		}
		h.Add(kv.Key, kv.Value)
	}
	return h
}

// Shutdown implements stream.ServerConn: new streams are refused with an
// rst frame (exception 12006, which Skiff clients read as unsent), and a
// meta frame on stream 0 with "crrst" tells Skiff clients to stop using
// the connection (Kitex clients ignore it).
func (c *tconn) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	already := c.goingAway
	c.goingAway = true
	c.mu.Unlock()
	if !already {
		f := &Frame{Type: FrameMeta}
		f.Meta.Strs = []codec.StrKV{{Key: KeyConnReset, Value: "1"}}
		_ = c.writeFrames(f)
	}
	stop := make(chan time.Time)
	cancelStop := context.AfterFunc(ctx, func() { close(stop) })
	defer cancelStop()
	if c.waitStreams(stop) {
		c.drain(stream.StopGrace)
		_ = c.Close()
		return nil
	}
	c.mu.Lock()
	open := make([]*tstream, 0, len(c.streams))
	for _, s := range c.streams {
		open = append(open, s)
	}
	c.mu.Unlock()
	for _, s := range open {
		s.cancel(stream.ErrServerStopping)
	}
	t := time.NewTimer(stream.StopGrace)
	c.waitStreams(t.C)
	t.Stop()
	c.drain(stream.StopGrace)
	_ = c.Close()
	return ctx.Err()
}

// waitStreams waits until no stream is open or the connection closed
// (true), or stop fires (false).
func (c *tconn) waitStreams(stop <-chan time.Time) bool {
	for {
		c.mu.Lock()
		if len(c.streams) == 0 || c.closed {
			c.mu.Unlock()
			return true
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-stop:
			return false
		}
	}
}

// Close implements stream.ServerConn and stream.ClientConn.
func (c *tconn) Close() error {
	c.closeWith(status.Wrap(status.ErrConnLost, "ttstream: connection closed", net.ErrClosed))
	return nil
}

// closeWith closes the connection and fails its open streams with err.
func (c *tconn) closeWith(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.closeErr = true, err
	open := c.streams
	c.streams = map[int32]*tstream{}
	c.signalLocked()
	c.mu.Unlock()
	c.wmu.Lock()
	c.releaseLocked()
	c.wclosed = true // Shutdown's drain stops waiting: nothing more is written
	c.wbuf = c.wbuf[:0]
	c.wcond.Broadcast()
	c.wmu.Unlock()
	for _, s := range open {
		s.fail(err)
	}
	_ = c.c.Close()
}

// NewStream implements stream.ClientConn. The header frame is sent at
// once.
func (c *tconn) NewStream(ctx context.Context, h stream.Header) (stream.RawClientStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxErr(ctx)
	}
	f := &Frame{Type: FrameHeader, ProtocolID: ProtocolThriftStruct}
	var strs []codec.StrKV
	for _, fl := range h {
		switch fl.Name {
		case ":method", ":scheme":
			continue
		case ":path":
			svc, method, ok := splitPath(fl.Value)
			if ok {
				f.Method = method
				strs = append(strs, codec.StrKV{Key: KeyIDLServiceName, Value: svc})
				continue
			}
		case "content-type":
			switch fl.Value {
			case ContentTypeThrift:
				continue
			case ContentTypeProtobuf:
				f.ProtocolID = ProtocolProtobufStruct
				continue
			}
		}
		strs = append(strs, codec.StrKV{Key: fl.Name, Value: fl.Value})
	}
	f.Meta.Strs = strs
	if w := c.p.o.window; w > 0 {
		f.Meta.Ints = []codec.IntKV{{Key: KeyFlowWindow, Value: strconv.Itoa(w)}}
	}
	c.mu.Lock()
	if c.closed || c.goingAway {
		c.mu.Unlock()
		return nil, status.Wrap(status.ErrUnsent, "ttstream: connection is closing", nil)
	}
	c.nextID++
	if c.nextID <= 0 {
		c.nextID = 1 // 0 is the connection; wrap-around skips the negative ids
	}
	for c.streams[c.nextID] != nil {
		c.nextID++
	}
	s := newTStream(c, c.nextID, f.Method)
	if c.peerFC {
		s.fcSend, s.fcRecv, s.sendWin = true, true, c.peerWindow
	}
	s.ctx = ctx
	s.proto = f.ProtocolID
	s.hdrDone = make(chan struct{})
	c.streams[s.id] = s
	c.mu.Unlock()
	f.StreamID = s.id
	if err := c.writeFrames(f); err != nil {
		c.remove(s)
		return nil, status.Wrap(status.ErrUnsent, "ttstream: send header frame", err)
	}
	stop := context.AfterFunc(ctx, func() { s.resetWith(stream.CodeCancel, ctxErr(ctx)) })
	s.mu.Lock()
	if s.ended {
		stop()
	} else {
		s.stopCtx = stop
	}
	s.mu.Unlock()
	return clientStream{s}, nil
}

// splitPath splits "/svc/method".
func splitPath(p string) (svc, method string, ok bool) {
	if !strings.HasPrefix(p, "/") {
		return "", "", false
	}
	i := strings.LastIndexByte(p, '/')
	if i == 0 || i == len(p)-1 {
		return "", "", false
	}
	return p[1:i], p[i+1:], true
}

func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return status.Wrap(status.ErrTimeout, "ttstream: stream deadline exceeded", context.Cause(ctx))
	}
	return status.Wrap(status.ErrCanceled, "ttstream: stream canceled", context.Cause(ctx))
}

// Available implements stream.ClientConn.
func (c *tconn) Available() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closed && !c.goingAway
}

// Streams implements stream.ClientConn.
func (c *tconn) Streams() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.streams)
}

// remove forgets s; it reports whether s was open.
func (c *tconn) remove(s *tstream) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streams[s.id] != s {
		return false
	}
	delete(c.streams, s.id)
	if len(c.streams) == 0 {
		c.signalLocked()
	}
	return true
}

// ResetException returns the rst frame's exception type and message, and
// false when it had none. Stream codecs use it through an interface.
func (e *ResetError) ResetException() (typeID int32, msg string, ok bool) {
	if e.Exception == nil {
		return 0, "", false
	}
	return e.Exception.TypeID, e.Exception.Message, true
}

// peerWindowLocked returns the server's per-stream window, as the client
// learnt it. (Read under the stream's lock; peerWindow is set once,
// before peerFC, and read after.)
func (c *tconn) peerWindowLocked() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerWindow
}
