package grpccodec_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// This file is an in-memory raw stream transport, a test double of
// transport-http2 with the semantics of the stream SPI: unbounded
// buffers, no flow control.

var errReset = status.New(status.Internal, "mem: stream reset")

// resetErr is the error a reset with code gives, as transport-http2 maps
// RST_STREAM codes.
func resetErr(code uint32) error {
	if code == stream.CodeCancel {
		return status.New(status.Canceled, "mem: stream canceled")
	}
	return errReset
}

// pipe is one direction of a stream's data.
type pipe struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	closed bool  // writer ended (EOF after buf)
	err    error // reset
}

func newPipe() *pipe {
	p := &pipe{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return 0, p.err
	}
	if p.closed {
		return 0, errors.New("mem: write after close")
	}
	p.buf = append(p.buf, b...)
	p.cond.Broadcast()
	return len(b), nil
}

func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 && !p.closed && p.err == nil {
		p.cond.Wait()
	}
	if p.err != nil {
		return 0, p.err
	}
	if len(p.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}

func (p *pipe) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *pipe) fail(err error) {
	p.mu.Lock()
	if p.err == nil && !(p.closed && len(p.buf) == 0) {
		p.err = err
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// memConn is a stream.ClientConn whose streams are served in process by
// handler.
type memConn struct {
	handler func(stream.RawServerStream)
	wg      sync.WaitGroup
	mu      sync.Mutex
	last    *memStream // the last stream opened, for inspection
}

func newMemConn(handler func(stream.RawServerStream)) *memConn {
	return &memConn{handler: handler}
}

// serve returns a conn whose streams codec c serves with dispatcher d.
func serve(c stream.Codec, d stream.Dispatcher) *memConn {
	return newMemConn(func(s stream.RawServerStream) { c.ServeStream(s, d) })
}

func (c *memConn) NewStream(ctx context.Context, h stream.Header) (stream.RawClientStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &memStream{
		reqHeader: append(stream.Header{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":authority", Value: "mem"}}, h...),
		req:       newPipe(),
		resp:      newPipe(),
		hdrReady:  make(chan struct{}),
		cctx:      ctx,
	}
	s.sctx, s.scancel = context.WithCancel(context.Background())
	s.stop = context.AfterFunc(ctx, func() { s.reset(stream.CodeCancel) })
	c.mu.Lock()
	c.last = s
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ss := &memServerSide{s}
		c.handler(ss)
		s.mu.Lock()
		ended := s.closed || s.wasReset
		s.mu.Unlock()
		if !ended {
			s.reset(stream.CodeInternal)
		}
	}()
	return &memClientSide{s}, nil
}

func (c *memConn) Available() bool { return true }
func (c *memConn) Streams() int    { return 0 }
func (c *memConn) Close() error    { c.wg.Wait(); return nil }

// Wait waits until every server handler has returned.
func (c *memConn) Wait() { c.wg.Wait() }

func (c *memConn) lastStream() *memStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

type memStream struct {
	reqHeader stream.Header
	req, resp *pipe
	cctx      context.Context
	sctx      context.Context
	scancel   context.CancelFunc
	stop      func() bool

	mu         sync.Mutex
	hdrReady   chan struct{}
	respHeader stream.Header
	trailer    stream.Header
	headerSent bool
	closed     bool
	wasReset   bool
	resetCode  uint32
	sendClosed bool
}

func (s *memStream) reset(code uint32) {
	s.mu.Lock()
	if s.wasReset || s.closed {
		s.mu.Unlock()
		return
	}
	s.wasReset, s.resetCode = true, code
	if !s.headerSent {
		close(s.hdrReady)
	}
	s.mu.Unlock()
	s.req.fail(resetErr(code))
	s.resp.fail(resetErr(code))
	s.scancel()
}

// ResponseHeader returns the header block the server sent.
func (s *memStream) ResponseHeader() stream.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.respHeader
}

// Trailer returns the trailer block the server sent.
func (s *memStream) Trailer() stream.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trailer
}

type memServerSide struct{ s *memStream }

func (m *memServerSide) Context() context.Context   { return m.s.sctx }
func (m *memServerSide) Header() stream.Header      { return m.s.reqHeader }
func (m *memServerSide) Read(p []byte) (int, error) { return m.s.req.Read(p) }
func (m *memServerSide) Flush() error               { return nil }
func (m *memServerSide) Reset(code uint32)          { m.s.reset(code) }
func (m *memServerSide) Write(p []byte) (int, error) {
	m.s.mu.Lock()
	sent := m.s.headerSent
	m.s.mu.Unlock()
	if !sent {
		if err := m.WriteHeader(nil); err != nil {
			return 0, err
		}
	}
	return m.s.resp.Write(p)
}

func (m *memServerSide) WriteHeader(h stream.Header) error {
	s := m.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wasReset {
		return errReset
	}
	if s.headerSent {
		return errors.New("mem: header sent twice")
	}
	if h.Get(":status") == "" {
		h = append(stream.Header{{Name: ":status", Value: "200"}}, h...)
	}
	s.respHeader, s.headerSent = h, true
	close(s.hdrReady)
	return nil
}

func (m *memServerSide) Close(tr stream.Header) error {
	s := m.s
	s.mu.Lock()
	if s.wasReset || s.closed {
		s.mu.Unlock()
		return errReset
	}
	if !s.headerSent {
		s.respHeader = append(stream.Header{{Name: ":status", Value: "200"}}, tr...)
		s.headerSent = true
		close(s.hdrReady)
	} else {
		s.trailer = tr
	}
	s.closed = true
	s.mu.Unlock()
	s.resp.close()
	s.req.fail(errReset) // the server no longer reads
	s.scancel()
	s.stop()
	return nil
}

type memClientSide struct{ s *memStream }

func (m *memClientSide) Context() context.Context    { return m.s.cctx }
func (m *memClientSide) Write(p []byte) (int, error) { return m.s.req.Write(p) }
func (m *memClientSide) Flush() error                { return nil }
func (m *memClientSide) CloseSend() error            { m.s.req.close(); return nil }
func (m *memClientSide) Read(p []byte) (int, error)  { return m.s.resp.Read(p) }
func (m *memClientSide) Reset(code uint32)           { m.s.reset(code) }
func (m *memClientSide) Trailer() stream.Header      { return m.s.Trailer() }
func (m *memClientSide) Header() (stream.Header, error) {
	select {
	case <-m.s.hdrReady:
	case <-m.s.cctx.Done():
		return nil, m.s.cctx.Err()
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if !m.s.headerSent {
		return nil, resetErr(m.s.resetCode)
	}
	return m.s.respHeader, nil
}

// dispatcher is a stream.Dispatcher over a set of services, as core/server
// gives one.
type dispatcher struct {
	services map[string]*service.Info
	impls    map[string]any
}

func newDispatcher() *dispatcher {
	return &dispatcher{services: map[string]*service.Info{}, impls: map[string]any{}}
}

func (d *dispatcher) register(info *service.Info, impl any) *dispatcher {
	d.services[info.FullName()] = info
	d.impls[info.FullName()] = impl
	return d
}

func (d *dispatcher) Lookup(svc, method string) (*stream.Method, error) {
	info := d.services[svc]
	if info == nil {
		return nil, status.Errorf(status.Unimplemented, "unknown service %s", svc)
	}
	mi := info.Method(method)
	if mi == nil {
		return nil, status.Errorf(status.Unimplemented, "unknown method %s for service %s", method, svc)
	}
	return &stream.Method{Service: info, Info: mi}, nil
}

// Start attaches no call info: codec-grpc must work with a dispatcher
// that gives none.
func (d *dispatcher) Start(ctx context.Context, _ *stream.Method) context.Context { return ctx }

func (d *dispatcher) Finish(context.Context, error) {}

func (d *dispatcher) Invoke(ctx context.Context, m *stream.Method, args, result any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = status.Errorf(status.Internal, "panic: %v", r)
		}
	}()
	return m.Info.Handler(ctx, d.impls[m.Service.FullName()], args, result)
}

var _ = fmt.Sprint
