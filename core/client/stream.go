package client

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// WithStreamTransport makes the client call over streams of p (such as
// HTTP/2 from transport-http2) instead of framed connections. Unary calls
// then go through Call as usual and streaming methods through NewStream;
// the message protocol is WithStreamCodec's, or the first registered
// stream codec (gRPC once codec-grpc is imported).
func WithStreamTransport(p stream.Protocol) Option {
	return optionFunc(func(o *options) { o.streamProto = p })
}

// WithStreamCodec sets the message protocol used on streams (such as gRPC
// from codec-grpc). It only matters with WithStreamTransport.
func WithStreamCodec(c stream.Codec) Option {
	return optionFunc(func(o *options) { o.streamCodec = c })
}

// streamsPerConn is how many open streams a stream connection carries
// before the pool opens another one to the same address (up to
// WithStreamConnsPerHost).
const streamsPerConn = 128

// DefaultStreamConnsPerHost is the most stream connections per address
// unless WithStreamConnsPerHost says otherwise.
const DefaultStreamConnsPerHost = 4

// WithStreamConnsPerHost sets the most stream connections the client opens
// to each address (default 4). New streams go to the connection with the
// fewest open streams; another connection is opened only when every one
// carries 128 streams or more, so light traffic uses one connection and
// heavy traffic spreads over several (one HTTP/2 connection's locks and
// single writer become the limit past a few hundred calls in flight).
func WithStreamConnsPerHost(n int) Option {
	return optionFunc(func(o *options) {
		if n > 0 {
			o.streamConns = n
		}
	})
}

// WithTLSConfig makes the client dial its connections with TLS (mTLS when
// cfg has Certificates): crypto/tls over the std engine, as Netpoll has no
// TLS, so New fails when WithEngine asks for another engine. For stream
// transports (WithStreamTransport) NextProtos defaults to "h2"; framed
// transports (Thrift, TTHeader, Kitex Protobuf) offer no ALPN unless cfg
// does. ServerName defaults to the host dialled, or, for a call made with
// WithURL, the host name of its URL (as an HTTPS client verifies it). A
// failed handshake is a connect error (status.ErrConnect) that says when
// the server looks like a plaintext one. cfg is cloned; a nil cfg turns TLS off.
func WithTLSConfig(cfg *tls.Config) Option {
	return optionFunc(func(o *options) {
		if cfg != nil {
			cfg = cfg.Clone()
		}
		o.tls = cfg
	})
}

// NewStream opens a message stream for a streaming method of the client's
// service (the client must use WithStreamTransport). The call runs through
// the same pipeline as Call: tracers start, the client middleware runs with
// req a *stream.Args and resp a *stream.Result (a middleware may replace
// Result.Stream with a wrapper to see each message, as grpc-go's stream
// interceptors do), an attempt picks the address (WithHostPort, or the
// resolver and balancer), and the instance middleware runs. Tracers finish
// when the stream ends: when RecvMsg returns an error (io.EOF for a clean
// end) or ctx ends. The stream ends when ctx ends; with an RPC timeout set
// (WithRPCTimeout or WithCallTimeout) ctx is bounded by it.
func (c *Client) NewStream(ctx context.Context, method string, opts ...CallOption) (stream.ClientStream, error) {
	if c.closed.Load() {
		return nil, status.New(status.Canceled, "client closed")
	}
	if c.spool == nil {
		return nil, status.New(status.Unimplemented, "client: NewStream needs WithStreamTransport")
	}
	ci := c.newCallInfo(ctx, method, opts)
	ci.Stats.Reset(c.level)
	ci.Stats.Record(stats.RPCStart)
	var cctx context.Context = ci
	for _, t := range c.opts.tracers {
		cctx = t.Start(cctx)
	}
	var res stream.Result
	err := c.ep(cctx, &stream.Args{Method: c.svc.Methods[method]}, &res)
	if err == nil && res.Stream == nil {
		err = status.New(status.Internal, "client: middleware returned no stream for "+method)
	}
	if err != nil {
		c.finish(ci, cctx, err)
		return nil, err
	}
	if len(c.opts.tracers) == 0 {
		return res.Stream, nil
	}
	ts := &tracedStream{ClientStream: res.Stream, c: c, ci: ci, ctx: cctx}
	ts.stop = context.AfterFunc(res.Stream.Context(), func() { ts.end(res.Stream.Context().Err(), false) })
	return ts, nil
}

// tracedStream finishes the call's tracers when the stream ends.
type tracedStream struct {
	stream.ClientStream
	c    *Client
	ci   *callinfo.Info
	ctx  context.Context
	once sync.Once
	stop func() bool
}

// RecvMsg implements stream.ClientStream.
func (s *tracedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.stop()
		if errors.Is(err, io.EOF) {
			s.end(nil, true)
		} else {
			s.end(err, true)
		}
	}
	return err
}

// end finishes the call's tracers once. From RecvMsg (wire), the attempt's
// stats are final and copied into the call's; a stream ended by its
// context finishes without them (RecvMsg may still be writing them).
func (s *tracedStream) end(err error, wire bool) {
	s.once.Do(func() {
		if err != nil {
			err = status.Convert(err)
		}
		if wire {
			s.c.finish(s.ci, s.ctx, err)
		} else {
			s.c.finishCall(s.ci, s.ctx, err)
		}
	})
}

// openStream is the innermost endpoint of NewStream: it opens the stream
// on the attempt's address into res (a *stream.Result).
func (c *Client) openStream(ctx context.Context, _ *stream.Args, resp any) error {
	res, ok := resp.(*stream.Result)
	if !ok {
		return status.New(status.Internal, "client: a streaming call's result must be a *stream.Result")
	}
	ci, at := callinfo.From(ctx), callinfo.AttemptFrom(ctx)
	cs, err := c.openAttempt(ctx, ci, at)
	if errors.Is(err, status.ErrUnsent) && !errors.Is(err, status.ErrConnect) && ctx.Err() == nil {
		cs, err = c.openAttempt(ctx, ci, at) // transparent retry: the stream never left
	}
	if err != nil {
		return err
	}
	res.Stream = cs
	return nil
}

func (c *Client) openAttempt(ctx context.Context, ci *callinfo.Info, at *callinfo.Attempt) (stream.ClientStream, error) {
	cc, err := c.spool.get(at.Address)
	if err != nil {
		return nil, err
	}
	if ci.RPCTimeout <= 0 {
		return c.scodec.NewClientStream(ctx, cc, c.svc, ci.Method)
	}
	sctx, cancel := context.WithTimeout(ctx, ci.RPCTimeout)
	cs, err := c.scodec.NewClientStream(sctx, cc, c.svc, ci.Method)
	if err != nil {
		cancel()
		return nil, err
	}
	return &timedStream{ClientStream: cs, cancel: cancel}, nil
}

// timedStream releases the timeout of a stream once the stream has ended.
type timedStream struct {
	stream.ClientStream
	cancel context.CancelFunc
}

// RecvMsg implements stream.ClientStream.
func (s *timedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.cancel()
	}
	return err
}

// streamCall is the innermost endpoint of a unary call over streams.
func (c *Client) streamCall(ctx context.Context, req, resp any) error {
	ci, at := callinfo.From(ctx), callinfo.AttemptFrom(ctx)
	if err := ctx.Err(); err != nil {
		return ctxError(err)
	}
	if ci.RPCTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ci.RPCTimeout)
		defer cancel()
	}
	err := c.streamAttempt(ctx, ci, at, req, resp)
	if errors.Is(err, status.ErrUnsent) && !errors.Is(err, status.ErrConnect) && ctx.Err() == nil {
		// Transparent retry, as grpc-go does: the stream never reached
		// the server (its connection was going away, or the server
		// refused it unprocessed).
		at.Stats.SendSize, at.Stats.RecvSize = 0, 0
		err = c.streamAttempt(ctx, ci, at, req, resp)
	}
	return err
}

func (c *Client) streamAttempt(ctx context.Context, ci *callinfo.Info, at *callinfo.Attempt, req, resp any) error {
	cc, err := c.spool.get(at.Address)
	if err != nil {
		return err
	}
	at.Stats.Record(stats.WriteStart)
	if uc, ok := c.scodec.(stream.UnaryCaller); ok {
		err = uc.Unary(ctx, cc, c.svc, ci.Method, req, resp)
		at.Stats.Record(stats.ReadFinish)
		return err
	}
	cs, err := c.scodec.NewClientStream(ctx, cc, c.svc, ci.Method)
	if err != nil {
		return err
	}
	if err := cs.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := cs.CloseSend(); err != nil {
		return err
	}
	if ci.Oneway {
		return nil
	}
	if err := cs.RecvMsg(resp); err != nil {
		if errors.Is(err, io.EOF) {
			return status.New(status.Internal, "server ended the stream without a response")
		}
		return err
	}
	at.Stats.Record(stats.ReadFinish)
	return nil
}

// streamPool keeps up to n stream connections per address.
type streamPool struct {
	proto   stream.Protocol
	eng     engine.Engine
	tls     *tls.Config
	names   *sync.Map // the client's tlsNames
	timeout time.Duration
	n       int

	mu     sync.Mutex
	hosts  map[string]*streamHost
	closed bool
}

type streamHost struct {
	mu      sync.Mutex
	conns   []stream.ClientConn
	retired []stream.ClientConn // going away: closed once their streams end
	dialing chan struct{}       // closed when the dial in progress ends; nil when none
	dialErr error               // the last dial's error
}

func newStreamPool(c *Client) *streamPool {
	n := c.opts.streamConns
	if n <= 0 {
		n = DefaultStreamConnsPerHost
	}
	return &streamPool{proto: c.opts.streamProto, eng: c.opts.engine, tls: c.opts.tls, names: &c.tlsNames,
		timeout: c.opts.connectTimeout, n: n, hosts: map[string]*streamHost{}}
}

// get returns a connection to addr that can take a new stream, dialling
// one when there is none.
func (p *streamPool) get(addr string) (stream.ClientConn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, status.New(status.Canceled, "client closed")
	}
	h := p.hosts[addr]
	if h == nil {
		h = &streamHost{}
		p.hosts[addr] = h
	}
	p.mu.Unlock()

	h.mu.Lock()
	for {
		h.sweep()
		var best stream.ClientConn
		for _, cc := range h.conns {
			if best == nil || cc.Streams() < best.Streams() {
				best = cc
			}
		}
		if best != nil && (len(h.conns) >= p.n || best.Streams() < streamsPerConn || h.dialing != nil) {
			h.mu.Unlock()
			return best, nil
		}
		if h.dialing != nil {
			// No connection yet and one is being dialled: wait for it.
			wait := h.dialing
			h.mu.Unlock()
			<-wait
			h.mu.Lock()
			if h.dialErr != nil && len(h.conns) == 0 {
				err := h.dialErr
				h.mu.Unlock()
				return nil, err
			}
			continue
		}
		// Dial without the lock, so calls keep using the connections there
		// are (and a slow or refusing address holds up one caller, not all).
		done := make(chan struct{})
		h.dialing = done
		h.mu.Unlock()
		cc, err := p.dial(addr)
		h.mu.Lock()
		h.dialing, h.dialErr = nil, err
		close(done)
		if err != nil {
			h.mu.Unlock()
			if best != nil {
				return best, nil
			}
			return nil, err
		}
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			h.mu.Unlock()
			_ = cc.Close()
			return nil, status.New(status.Canceled, "client closed")
		}
		h.conns = append(h.conns, cc)
		h.mu.Unlock()
		return cc, nil
	}
}

// sweep moves unavailable connections to the retired list and closes
// retired ones with no streams left. h.mu is held.
func (h *streamHost) sweep() {
	live := h.conns[:0]
	for _, cc := range h.conns {
		if cc.Available() {
			live = append(live, cc)
		} else {
			h.retired = append(h.retired, cc)
		}
	}
	clear(h.conns[len(live):])
	h.conns = live
	kept := h.retired[:0]
	for _, cc := range h.retired {
		if cc.Streams() == 0 {
			_ = cc.Close()
		} else {
			kept = append(kept, cc)
		}
	}
	clear(h.retired[len(kept):])
	h.retired = kept
}

func (p *streamPool) dial(addr string) (stream.ClientConn, error) {
	nw := network(addr)
	var conn engine.Conn
	eng := p.eng
	if p.tls != nil {
		eng = newTLSEngine(p.tls, p.names, "h2")
	}
	conn, err := eng.Dial(nw, addr, p.timeout)
	if err != nil {
		return nil, status.Wrap(status.ErrConnect, "dial "+addr, err)
	}
	cc, err := p.proto.NewClientConn(conn, stream.ClientConnParams{Authority: addr})
	if err != nil {
		_ = conn.Close()
		return nil, status.Wrap(status.ErrConnect, "handshake with "+addr, err)
	}
	return cc, nil
}

// closeAddr retires the connections to addr, an instance that left: those
// with no open stream close now, the others when a later sweep finds them
// idle or the pool closes. The host stays registered, so a connection a
// racing call dials is still closed with the pool.
func (p *streamPool) closeAddr(addr string) {
	p.mu.Lock()
	h := p.hosts[addr]
	p.mu.Unlock()
	if h == nil {
		return
	}
	h.mu.Lock()
	h.retired = append(h.retired, h.conns...)
	clear(h.conns)
	h.conns = h.conns[:0]
	h.sweep()
	h.mu.Unlock()
}

func (p *streamPool) close() {
	p.mu.Lock()
	p.closed = true
	hosts := p.hosts
	p.hosts = nil
	p.mu.Unlock()
	for _, h := range hosts {
		h.mu.Lock()
		for _, cc := range h.conns {
			_ = cc.Close()
		}
		for _, cc := range h.retired {
			_ = cc.Close()
		}
		h.conns, h.retired = nil, nil
		h.mu.Unlock()
	}
}
