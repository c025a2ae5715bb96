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
// once the request metadata is known: in the tracer's Start when the
// transport has read it already (unary calls with metadata), else in the
// middleware, back-dated to the call's start (stream codecs start the
// server's tracers before they read the request header), or in Finish for
// a call that never reached its handler. Everything a call needs lives
// here, in one allocation: the carrier the propagator reads and the span
// start options.
type serverCall struct {
	context.Context
	ci    *callinfo.Info
	start time.Time

	mu      sync.Mutex
	begun   bool
	carrier serverCarrier
	opts    [3]trace.SpanStartOption
	desc    *methodDesc
	span    trace.Span      // nil without tracing, or before begin
	spanCtx context.Context // the context with the span, for the metrics (exemplars)
	rec     bool            // span records (was sampled): worth attributes and events
	stream  bool
	recvd   atomic.Int64
	sent    atomic.Int64
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

// begin continues ctx with the caller's trace context and baggage, read
// from the request metadata (and ctx's transient metainfo), and starts the
// server span, once; back-dated to the call's start when late. It returns
// the context for the handler, or ctx when begin had already run.
func (c *serverCall) begin(in *instr, ctx context.Context, late bool) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.begun {
		return ctx
	}
	c.begun = true
	c.carrier = serverCarrier{md: &c.ci.Request, ctx: ctx}
	ctx = in.cfg.prop.Extract(ctx, &c.carrier)
	c.carrier.ctx = nil
	if in.tracer == nil {
		return ctx
	}
	d := c.desc
	// The kind and rpc.* attributes are shared by every call of the method
	// (the sampler sees them); the peer's address is set when the span
	// ends, with the outcome: one attribute slice per call instead of two.
	opts := d.start
	if late {
		opts = append(append(c.opts[:0], d.start...), trace.WithTimestamp(c.start))
	}
	ctx, c.span = in.tracer.Start(ctx, d.name, opts...)
	c.spanCtx = ctx
	c.rec = c.span.IsRecording()
	return ctx
}

type serverTracer struct{ in *instr }

// Start implements stats.Tracer.
func (t serverTracer) Start(ctx context.Context) context.Context {
	ci := callinfo.From(ctx)
	if ci == nil || ci.Stats.Level() == stats.LevelDisabled {
		return ctx
	}
	c := &serverCall{Context: ctx, ci: ci, start: time.Now(), desc: t.in.methods.get(ci)}
	if c.ci.Request.Len() > 0 {
		// The transport read the request metadata before the call
		// started: the span begins now, and the handler's context
		// carries it.
		c.Context = c.begin(t.in, ctx, false)
	}
	return c
}

// Finish implements stats.Tracer: it ends the span and records the
// metrics.
func (t serverTracer) Finish(ctx context.Context) {
	c := serverCallFrom(ctx)
	if c == nil {
		return
	}
	ci := c.ci
	c.begin(t.in, c.Context, true) // a call that never reached its handler
	start, end := times(&ci.Stats, c.start)
	r := classify(ci.Stats.Err)
	// Metrics first: once the span has ended, the call is fully recorded.
	// They are recorded in the span's context, as the client's are: a
	// meter provider that keeps exemplars links them to the trace.
	mctx := ctx
	if c.spanCtx != nil {
		mctx = c.spanCtx
	}
	t.in.record(mctx, c.desc, ci, &r, start, end, c.stream, c.recvd.Load(), c.sent.Load())
	if c.span != nil && !c.rec {
		c.span.End()
	} else if c.span != nil {
		buf := t.in.getAttrs()
		defer t.in.putAttrs(buf)
		attrs := t.in.peerAttrs(buf[:0], ci.RemoteAddr)
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
		hctx := c.begin(s.in, ctx, true)
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
