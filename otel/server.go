package skiffotel

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/stream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// ServerSuite is the server instrumentation: a tracer (spans, metrics)
// and a middleware that continues the caller's trace and gives the
// handler a context with the server span and the caller's baggage.
// Install it with server.WithSuite.
type ServerSuite struct {
	in *instr
}

var _ server.Suite = (*ServerSuite)(nil)

// NewServerSuite returns the server instrumentation configured by opts.
func NewServerSuite(opts ...Option) *ServerSuite {
	return &ServerSuite{in: newInstr(newConfig(opts), trace.SpanKindServer)}
}

// Options implements server.Suite: the tracer and the middleware.
func (s *ServerSuite) Options() []server.Option {
	return []server.Option{
		server.WithTracer(serverTracer{s.in}),
		server.WithMiddleware(s.middleware),
	}
}

type serverKey struct{}

// serverCall is a served call's instrumentation state. Its span begins
// once the request metadata is known: in the middleware, or in Finish for
// a call that never reached its handler. (Stream codecs start the server's
// tracers before they read the request header, so the tracer's Start
// cannot see the caller's trace context yet.)
type serverCall struct {
	context.Context
	ci    *callinfo.Info
	start time.Time

	once   sync.Once
	span   trace.Span // nil without tracing, or before begin
	rec    bool       // span records (was sampled): worth attributes and events
	stream bool
	recvd  atomic.Int64
	sent   atomic.Int64
}

func (c *serverCall) Value(k any) any {
	if _, ok := k.(serverKey); ok {
		return c
	}
	return c.Context.Value(k)
}

func serverCallFrom(ctx context.Context) *serverCall {
	c, _ := ctx.Value(serverKey{}).(*serverCall)
	return c
}

// begin starts the server span, back-dated to the call's start, once:
// ctx is the context to continue, with the caller's trace context
// extracted from the request metadata. It returns the context with the
// span, or ctx when begin had already run or tracing is off.
func (c *serverCall) begin(in *instr, ctx context.Context) context.Context {
	started := false
	c.once.Do(func() {
		started = true
		if in.tracer == nil {
			return
		}
		d := in.methods.get(c.ci)
		// The peer's address is set when the span ends, with the outcome:
		// one attribute slice per call instead of two.
		ctx, c.span = in.tracer.Start(ctx, d.name, append(d.start[:len(d.start):len(d.start)],
			trace.WithTimestamp(c.start))...)
		c.rec = c.span.IsRecording()
	})
	if !started && c.span != nil {
		ctx = trace.ContextWithSpan(ctx, c.span)
	}
	return ctx
}

type serverTracer struct{ in *instr }

// Start implements stats.Tracer.
func (t serverTracer) Start(ctx context.Context) context.Context {
	ci := callinfo.From(ctx)
	if ci == nil || ci.Stats.Level() == stats.LevelDisabled {
		return ctx
	}
	return &serverCall{Context: ctx, ci: ci, start: time.Now()}
}

// Finish implements stats.Tracer: it ends the span and records the
// metrics.
func (t serverTracer) Finish(ctx context.Context) {
	c := serverCallFrom(ctx)
	if c == nil {
		return
	}
	ci := c.ci
	c.begin(t.in, t.in.cfg.prop.Extract(c.Context, serverCarrier{&ci.Request, c.Context}))
	start, end := times(&ci.Stats, c.start)
	r := classify(ci.Stats.Err)
	d := t.in.methods.get(ci)
	// Metrics first: once the span has ended, the call is fully recorded.
	t.in.record(ctx, d, ci, &r, start, end, c.stream, c.recvd.Load(), c.sent.Load())
	if c.span != nil && !c.rec {
		c.span.End()
	} else if c.span != nil {
		attrs := peerAttrs(make([]attribute.KeyValue, 0, 5), ci.RemoteAddr)
		attrs = r.outcomeAttrs(attrs, ci.Codec == "grpc")
		c.span.SetAttributes(attrs...)
		r.setStatus(c.span, true)
		c.span.End() // now: the runtime recorded RPCFinish just before
	}
}

// middleware gives the handler the caller's trace context and baggage and
// the server span, and follows streams message by message.
func (s *ServerSuite) middleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		c := serverCallFrom(ctx)
		if c == nil {
			return next(ctx, req, resp)
		}
		hctx := c.begin(s.in, s.in.cfg.prop.Extract(ctx, serverCarrier{&c.ci.Request, ctx}))
		if ss, ok := req.(stream.ServerStream); ok {
			c.stream = true
			events := c.rec && !s.in.cfg.noMessages && c.ci.Stats.Level() >= stats.LevelDetailed
			req = &serverStream{ServerStream: ss, c: c, ctx: hctx, events: events}
		}
		return next(hctx, req, resp)
	}
}

// serverStream counts the messages of a server stream and gives the
// handler its context.
type serverStream struct {
	stream.ServerStream
	c      *serverCall
	ctx    context.Context
	events bool
}

func (s *serverStream) Context() context.Context { return s.ctx }

func (s *serverStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		n := s.c.sent.Add(1)
		if s.events {
			messageEvent(s.c.span, "SENT", n)
		}
	}
	return err
}

func (s *serverStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		n := s.c.recvd.Add(1)
		if s.events {
			messageEvent(s.c.span, "RECEIVED", n)
		}
	}
	return err
}
