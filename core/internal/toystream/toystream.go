package toystream

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// Preface starts every toy stream connection.
const Preface = "TOYSTRM\n"

// Protocol is the toy stream transport.
var Protocol stream.Protocol = proto{}

type proto struct{}

func (proto) Name() string { return "toystream" }

func (proto) Detect(p []byte) bool { return bytes.HasPrefix(p, []byte(Preface)) }

func encodeHeader(h stream.Header) []byte {
	var b []byte
	for _, f := range h {
		b = append(b, f.Name+"="+f.Value+"\n"...)
	}
	return b
}

func decodeHeader(b []byte) stream.Header {
	var h stream.Header
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			h.Add(k, v)
		}
	}
	return h
}

// conn is the part shared by both ends.
type conn struct {
	c   engine.Conn
	wmu sync.Mutex

	mu      sync.Mutex
	streams map[uint32]*pipe
	closed  bool
}

func (c *conn) write(id uint32, kind byte, p []byte) (err error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// Netpoll frees a connection's buffers on close: a write racing a
	// close (a reset from a context watcher, say) must fail, not crash.
	if !c.c.IsActive() {
		return net.ErrClosed
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (write on a closing connection: %v)", net.ErrClosed, r)
		}
	}()
	w := c.c.Writer()
	b, err := w.Malloc(9 + len(p))
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint32(b, id)
	b[4] = kind
	binary.BigEndian.PutUint32(b[5:], uint32(len(p)))
	copy(b[9:], p)
	return w.Flush()
}

// readFrame reads one frame; the payload is copied.
func (c *conn) readFrame() (uint32, byte, []byte, error) {
	r := c.c.Reader()
	h, err := r.Next(9)
	if err != nil {
		return 0, 0, nil, err
	}
	id, kind, n := binary.BigEndian.Uint32(h), h[4], int(binary.BigEndian.Uint32(h[5:]))
	if n > 1<<20 {
		return 0, 0, nil, status.Protocolf("toystream: frame of %d bytes", n)
	}
	p, err := r.Next(n)
	if err != nil {
		return 0, 0, nil, err
	}
	out := append([]byte(nil), p...)
	_ = r.Release()
	return id, kind, out, nil
}

func (c *conn) failAll(err error) {
	c.mu.Lock()
	c.closed = true
	ps := c.streams
	c.streams = map[uint32]*pipe{}
	c.mu.Unlock()
	for _, p := range ps {
		p.fail(err)
	}
}

// pipe is one direction of incoming stream data.
type pipe struct {
	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	header  stream.Header
	gotHdr  bool
	trailer stream.Header
	eof     bool
	err     error
	ctx     context.Context
	cancel  context.CancelFunc
}

func newPipe(parent context.Context) *pipe {
	p := &pipe{}
	p.cond = sync.NewCond(&p.mu)
	p.ctx, p.cancel = context.WithCancel(parent)
	return p
}

func (p *pipe) push(b []byte) {
	p.mu.Lock()
	p.buf = append(p.buf, b...)
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *pipe) setHeader(h stream.Header) {
	p.mu.Lock()
	p.header, p.gotHdr = h, true
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *pipe) end(trailer stream.Header) {
	p.mu.Lock()
	p.eof, p.trailer = true, trailer
	if !p.gotHdr {
		p.header, p.gotHdr = trailer, true
	}
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *pipe) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
	p.cond.Broadcast()
	p.cancel()
}

func (p *pipe) read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 && !p.eof && p.err == nil {
		p.cond.Wait()
	}
	if len(p.buf) > 0 {
		n := copy(b, p.buf)
		p.buf = p.buf[n:]
		return n, nil
	}
	if p.err != nil {
		return 0, p.err
	}
	return 0, io.EOF
}

// ---- server ----

func (proto) NewServerConn(c engine.Conn, prm stream.ServerConnParams) (stream.ServerConn, error) {
	if _, err := c.Reader().Next(len(Preface)); err != nil {
		return nil, err
	}
	_ = c.Reader().Release()
	sc := &serverConn{conn: conn{c: c, streams: map[uint32]*pipe{}}, handler: prm.Handler, done: make(chan struct{})}
	return sc, nil
}

type serverConn struct {
	conn
	handler  func(stream.RawServerStream)
	wg       sync.WaitGroup
	goingMu  sync.Mutex
	going    bool
	done     chan struct{}
	doneOnce sync.Once
}

// Serve implements stream.ServerConn.
func (s *serverConn) Serve() error {
	defer s.doneOnce.Do(func() { close(s.done) })
	for {
		id, kind, p, err := s.readFrame()
		if err != nil {
			s.failAll(err)
			s.wg.Wait()
			s.goingMu.Lock()
			going := s.going
			s.goingMu.Unlock()
			if going || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch kind {
		case 'H':
			s.goingMu.Lock()
			going := s.going
			s.goingMu.Unlock()
			if going {
				_ = s.write(id, 'R', nil)
				continue
			}
			pp := newPipe(context.Background())
			pp.setHeader(decodeHeader(p))
			s.mu.Lock()
			s.streams[id] = pp
			s.mu.Unlock()
			st := &serverStream{sc: s, id: id, in: pp}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handler(st)
				if !st.ended {
					st.Reset(stream.CodeInternal)
				}
			}()
		case 'D', 'E', 'R':
			s.mu.Lock()
			pp := s.streams[id]
			s.mu.Unlock()
			if pp == nil {
				continue
			}
			switch kind {
			case 'D':
				pp.push(p)
			case 'E':
				pp.end(nil)
			case 'R':
				pp.fail(errors.New("toystream: stream reset by peer"))
			}
		}
	}
}

// Shutdown implements stream.ServerConn.
func (s *serverConn) Shutdown(ctx context.Context) error {
	s.goingMu.Lock()
	s.going = true
	s.goingMu.Unlock()
	idle := make(chan struct{})
	go func() {
		for {
			s.mu.Lock()
			n := len(s.streams)
			s.mu.Unlock()
			if n == 0 {
				close(idle)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-s.done:
				return
			default:
			}
			sleepBriefly()
		}
	}()
	select {
	case <-idle:
	case <-ctx.Done():
	case <-s.done:
	}
	_ = s.c.Close()
	return ctx.Err()
}

// Close implements stream.ServerConn.
func (s *serverConn) Close() error { return s.c.Close() }

type serverStream struct {
	sc      *serverConn
	id      uint32
	in      *pipe
	sentHdr bool
	ended   bool
}

func (s *serverStream) Context() context.Context   { return s.in.ctx }
func (s *serverStream) Header() stream.Header      { return s.in.header }
func (s *serverStream) Read(p []byte) (int, error) { return s.in.read(p) }
func (s *serverStream) WriteHeader(h stream.Header) error {
	s.sentHdr = true
	return s.sc.write(s.id, 'H', encodeHeader(h))
}
func (s *serverStream) Write(p []byte) (int, error) {
	if !s.sentHdr {
		if err := s.WriteHeader(nil); err != nil {
			return 0, err
		}
	}
	return len(p), s.sc.write(s.id, 'D', p)
}
func (s *serverStream) Flush() error { return nil }
func (s *serverStream) Close(trailer stream.Header) error {
	s.finish()
	return s.sc.write(s.id, 'T', encodeHeader(trailer))
}
func (s *serverStream) Reset(uint32) {
	s.finish()
	_ = s.sc.write(s.id, 'R', nil)
}
func (s *serverStream) finish() {
	s.ended = true
	s.sc.mu.Lock()
	delete(s.sc.streams, s.id)
	s.sc.mu.Unlock()
	s.in.cancel()
}

// ---- client ----

func (proto) NewClientConn(c engine.Conn, _ stream.ClientConnParams) (stream.ClientConn, error) {
	w := c.Writer()
	if _, err := w.WriteBinary([]byte(Preface)); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	cc := &clientConn{conn: conn{c: c, streams: map[uint32]*pipe{}}}
	go cc.readLoop()
	return cc, nil
}

type clientConn struct {
	conn
	next uint32
}

func (c *clientConn) readLoop() {
	for {
		id, kind, p, err := c.readFrame()
		if err != nil {
			c.failAll(status.Wrap(status.ErrConnLost, "toystream: connection lost", err))
			_ = c.c.Close()
			return
		}
		c.mu.Lock()
		pp := c.streams[id]
		if kind == 'T' || kind == 'R' {
			delete(c.streams, id)
		}
		c.mu.Unlock()
		if pp == nil {
			continue
		}
		switch kind {
		case 'H':
			pp.setHeader(decodeHeader(p))
		case 'D':
			pp.push(p)
		case 'T':
			pp.end(decodeHeader(p))
			pp.cancel()
		case 'R':
			pp.fail(status.New(status.Internal, "toystream: stream reset by server"))
		}
	}
}

func (c *clientConn) NewStream(ctx context.Context, h stream.Header) (stream.RawClientStream, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, status.Wrap(status.ErrUnsent, "toystream: connection closed", nil)
	}
	c.next += 2
	id := c.next
	pp := newPipe(ctx)
	c.streams[id] = pp
	c.mu.Unlock()
	if err := c.write(id, 'H', encodeHeader(h)); err != nil {
		return nil, status.Wrap(status.ErrUnsent, "toystream: write", err)
	}
	cs := &clientStream{cc: c, id: id, in: pp, ctx: ctx}
	go func() {
		<-pp.ctx.Done()
		if ctx.Err() != nil {
			cs.Reset(stream.CodeCancel)
		}
	}()
	return cs, nil
}

func (c *clientConn) Available() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closed
}

func (c *clientConn) Streams() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.streams)
}

func (c *clientConn) Close() error { return c.c.Close() }

type clientStream struct {
	cc  *clientConn
	id  uint32
	in  *pipe
	ctx context.Context
}

func (s *clientStream) Context() context.Context { return s.ctx }
func (s *clientStream) Write(p []byte) (int, error) {
	return len(p), s.cc.write(s.id, 'D', p)
}
func (s *clientStream) Flush() error     { return nil }
func (s *clientStream) CloseSend() error { return s.cc.write(s.id, 'E', nil) }
func (s *clientStream) Header() (stream.Header, error) {
	p := s.in
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.gotHdr && p.err == nil {
		p.cond.Wait()
	}
	return p.header, p.err
}
func (s *clientStream) Read(b []byte) (int, error) {
	n, err := s.in.read(b)
	if errors.Is(err, io.EOF) {
		s.in.cancel()
	}
	return n, err
}
func (s *clientStream) Trailer() stream.Header {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	return s.in.trailer
}
func (s *clientStream) Reset(uint32) {
	s.cc.mu.Lock()
	_, open := s.cc.streams[s.id]
	delete(s.cc.streams, s.id)
	s.cc.mu.Unlock()
	if open {
		_ = s.cc.write(s.id, 'R', nil)
	}
	s.in.fail(status.New(status.Canceled, "toystream: stream reset"))
}

// ---- codec ----

// Codec is the toy stream codec: request header ":path" = /service/method
// and "content-type" = application/toy; messages are [u32 len][bytes] of
// toycodec.Bytes; trailer "status" = code and "message".
var Codec stream.Codec = toyCodec{}

type toyCodec struct{}

func (toyCodec) Name() string { return "toy" }

func (toyCodec) Detect(h stream.Header) bool { return h.Get("content-type") == "application/toy" }

func writeMsg(w io.Writer, m any) error {
	b := codec.Unwrap(m).(*toycodec.Bytes).B
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	_, err := w.Write(append(frame, b...))
	return err
}

func readMsg(r io.Reader, m any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > 1<<20 {
		return status.Protocolf("toystream: message of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	codec.Unwrap(m).(*toycodec.Bytes).B = b
	return nil
}

func trailerOf(err error) stream.Header {
	if err == nil {
		return stream.Header{{Name: "status", Value: "0"}}
	}
	st := status.Convert(err)
	return stream.Header{{Name: "status", Value: strconv.Itoa(int(st.Code()))}, {Name: "message", Value: st.Message()}}
}

func (toyCodec) ServeStream(rs stream.RawServerStream, d stream.Dispatcher) {
	svc, method, _ := strings.Cut(strings.TrimPrefix(rs.Header().Get(":path"), "/"), "/")
	m, err := d.Lookup(svc, method)
	if err != nil {
		_ = rs.Close(trailerOf(err))
		return
	}
	if m.Info.StreamingMode == service.StreamingNone || m.Info.StreamingMode == service.StreamingUnary {
		args, result := m.Info.NewArgs(), m.Info.NewResult()
		if err := readMsg(rs, args); err != nil {
			_ = rs.Close(trailerOf(err))
			return
		}
		if err := d.Invoke(rs.Context(), m, args, result); err != nil {
			_ = rs.Close(trailerOf(err))
			return
		}
		if err := writeMsg(rs, result); err != nil {
			rs.Reset(stream.CodeInternal)
			return
		}
		_ = rs.Close(trailerOf(nil))
		return
	}
	ss := &msgServerStream{rs: rs}
	err = d.Invoke(rs.Context(), m, ss, nil)
	_ = rs.Close(append(trailerOf(err), ss.trailer...))
}

type msgServerStream struct {
	rs      stream.RawServerStream
	trailer stream.Header
}

func (s *msgServerStream) Context() context.Context      { return s.rs.Context() }
func (s *msgServerStream) SendMsg(m any) error           { return writeMsg(s.rs, m) }
func (s *msgServerStream) RecvMsg(m any) error           { return readMsg(s.rs, m) }
func (s *msgServerStream) SetHeader(stream.Header) error { return nil }
func (s *msgServerStream) SendHeader(h stream.Header) error {
	return s.rs.WriteHeader(h)
}
func (s *msgServerStream) SetTrailer(h stream.Header) { s.trailer = append(s.trailer, h...) }

func (toyCodec) NewClientStream(ctx context.Context, cc stream.ClientConn, svc *service.Info, method string) (stream.ClientStream, error) {
	h := stream.Header{{Name: ":path", Value: "/" + svc.FullName() + "/" + method}, {Name: "content-type", Value: "application/toy"}}
	if ci := callinfo.From(ctx); ci != nil && ci.Caller != "" {
		h.Add("caller", ci.Caller)
	}
	rs, err := cc.NewStream(ctx, h)
	if err != nil {
		return nil, err
	}
	return &msgClientStream{rs: rs}, nil
}

type msgClientStream struct {
	rs stream.RawClientStream
}

func (s *msgClientStream) Context() context.Context       { return s.rs.Context() }
func (s *msgClientStream) SendMsg(m any) error            { return writeMsg(s.rs, m) }
func (s *msgClientStream) CloseSend() error               { return s.rs.CloseSend() }
func (s *msgClientStream) Header() (stream.Header, error) { return s.rs.Header() }
func (s *msgClientStream) Trailer() stream.Header         { return s.rs.Trailer() }
func (s *msgClientStream) RecvMsg(m any) error {
	err := readMsg(s.rs, m)
	if !errors.Is(err, io.EOF) {
		return err
	}
	t := s.rs.Trailer()
	code, _ := strconv.Atoi(t.Get("status"))
	if code != 0 {
		return status.New(status.Code(code), t.Get("message"))
	}
	return io.EOF
}
