package skiffotel

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/stream"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// ClientSuite is the client instrumentation: a tracer (spans, metrics,
// propagation), a middleware that follows streams message by message, and
// an instance middleware that records the attempts of retried or hedged
// calls. Install it with client.WithSuite.
type ClientSuite struct {
	in *instr
}

var _ client.Suite = (*ClientSuite)(nil)

// NewClientSuite returns the client instrumentation configured by opts.
func NewClientSuite(opts ...Option) *ClientSuite {
	return &ClientSuite{in: newInstr(newConfig(opts), trace.SpanKindClient)}
}

// Options implements client.Suite: the tracer, the stream middleware and
// the attempt middleware.
func (s *ClientSuite) Options() []client.Option {
	return []client.Option{
		client.WithTracer(clientTracer{s.in}),
		client.WithMiddleware(s.streamMiddleware),
		client.WithInstanceMiddleware(s.attemptMiddleware),
	}
}

type clientKey struct{}

// clientCall is a client call's instrumentation state; it is the context
// the call's middleware runs with.
type clientCall struct {
	context.Context
	ci    *callinfo.Info
	desc  *methodDesc
	span  trace.Span // nil without tracing
	rec   bool       // span records (was sampled): worth attributes and events
	start time.Time

	stream       bool
	sent, recvd  atomic.Int64 // stream messages
	last         atomic.Pointer[callinfo.Attempt]
	mu           sync.Mutex
	firstEnd     time.Time // when attempt 1 ended
	firstErr     error
	firstAddress string
	firstPending bool // attempt 1 ended and its event is not recorded yet
}

func (c *clientCall) Value(k any) any {
	if _, ok := k.(clientKey); ok {
		return c
	}
	return c.Context.Value(k)
}

func clientCallFrom(ctx context.Context) *clientCall {
	c, _ := ctx.Value(clientKey{}).(*clientCall)
	return c
}

type clientTracer struct{ in *instr }

// Start implements stats.Tracer: it starts the call's span and writes its
// trace context into the request metadata.
func (t clientTracer) Start(ctx context.Context) context.Context {
	ci := callinfo.From(ctx)
	if ci == nil || ci.Stats.Level() == stats.LevelDisabled {
		return ctx
	}
	c := &clientCall{ci: ci, start: time.Now(), desc: t.in.methods.get(ci)}
	sctx := ctx
	if t.in.tracer != nil {
		sctx, c.span = t.in.tracer.Start(ctx, c.desc.name, c.desc.start...)
		c.rec = c.span.IsRecording()
	}
	if t.in.cfg.metainfo {
		out := sctx
		t.in.cfg.prop.Inject(sctx, clientCarrier{md: &ci.Request, ctx: &out, metainfo: true})
		sctx = out
	} else {
		t.in.cfg.prop.Inject(sctx, MetadataCarrier{&ci.Request})
	}
	c.Context = sctx
	return c
}

// Finish implements stats.Tracer: it ends the span and records the
// metrics.
func (t clientTracer) Finish(ctx context.Context) {
	c := clientCallFrom(ctx)
	if c == nil {
		return
	}
	ci := c.ci
	start, end := times(&ci.Stats, c.start)
	r := classify(ci.Stats.Err)
	// Metrics first: once the span has ended, the call is fully recorded.
	t.in.record(ctx, c.desc, ci, &r, start, end, c.stream, c.sent.Load(), c.recvd.Load())
	if c.span != nil && !c.rec {
		c.span.End()
	} else if c.span != nil {
		buf := t.in.getAttrs()
		defer t.in.putAttrs(buf)
		attrs := buf[:0]
		if at := c.last.Load(); at != nil {
			attrs = serverAttrs(attrs, at.Address)
			if at.RemoteAddr != nil {
				attrs = t.in.peerAttrs(attrs, at.RemoteAddr)
			} else {
				// Stream transports do not record the connection's
				// address: an IP literal dialed is the peer.
				attrs = t.in.dialedPeerAttrs(attrs, at.Address)
			}
		} else if ci.Target != "" {
			attrs = serverAttrs(attrs, ci.Target)
		}
		if n := ci.Attempts(); n > 1 {
			attrs = append(attrs, AttemptsKey.Int(n))
			c.flushFirst()
		}
		attrs = r.outcomeAttrs(attrs, ci.Codec == "grpc")
		c.span.SetAttributes(attrs...)
		r.setStatus(c.span, false)
		c.span.End() // now: the runtime recorded RPCFinish just before
	}
}

// attemptAttrs are the attributes of an attempt event.
func attemptAttrs(n int, addr string, err error) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, AttemptNumberKey.Int(n))
	attrs = serverAttrs(attrs, addr)
	if r := classify(err); r.failed() {
		attrs = append(attrs, semconv.ErrorTypeKey.String(r.errType))
	}
	return attrs
}

// attemptMiddleware runs once per attempt, after the instance is chosen.
// It remembers the attempt that ended last (its address goes on the span)
// and, for a call tried more than once, records each attempt as an event
// when it ends. Whether a first attempt is followed by others is not known
// when it ends: its event waits until a second attempt starts (or the call
// finishes after one).
func (s *ClientSuite) attemptMiddleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		c := clientCallFrom(ctx)
		at := callinfo.AttemptFrom(ctx)
		if c == nil || at == nil || !c.rec {
			err := next(ctx, req, resp)
			if c != nil && at != nil {
				c.last.Store(at)
			}
			return err
		}
		if at.N > 1 {
			c.flushFirst()
		}
		err := next(ctx, req, resp)
		c.last.Store(at)
		if at.N == 1 && c.ci.Attempts() == 1 {
			c.mu.Lock()
			c.firstEnd, c.firstErr, c.firstAddress, c.firstPending = time.Now(), err, at.Address, true
			c.mu.Unlock()
			if c.ci.Attempts() == 1 {
				return err
			}
			c.flushFirst() // a second attempt started meanwhile
			return err
		}
		c.span.AddEvent(AttemptEvent, trace.WithAttributes(attemptAttrs(at.N, at.Address, err)...))
		return err
	}
}

// flushFirst records the event of a first attempt that has ended, once.
func (c *clientCall) flushFirst() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.firstPending {
		c.firstPending = false
		c.span.AddEvent(AttemptEvent, trace.WithTimestamp(c.firstEnd),
			trace.WithAttributes(attemptAttrs(1, c.firstAddress, c.firstErr)...))
	}
}

// streamMiddleware marks streaming calls and wraps their stream to count
// (and, at LevelDetailed, record) the messages.
func (s *ClientSuite) streamMiddleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		err := next(ctx, req, resp)
		if _, ok := req.(*stream.Args); !ok || err != nil {
			return err
		}
		c := clientCallFrom(ctx)
		res, ok := resp.(*stream.Result)
		if c == nil || !ok || res.Stream == nil {
			return err
		}
		c.stream = true
		events := c.rec && !s.in.cfg.noMessages && c.ci.Stats.Level() >= stats.LevelDetailed
		res.Stream = &clientStream{ClientStream: res.Stream, c: c, events: events}
		return nil
	}
}

// clientStream counts the messages of a client stream.
type clientStream struct {
	stream.ClientStream
	c      *clientCall
	events bool
}

func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err == nil {
		n := s.c.sent.Add(1)
		if s.events {
			messageEvent(s.c.span, "SENT", n)
		}
	}
	return err
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		n := s.c.recvd.Add(1)
		if s.events {
			messageEvent(s.c.span, "RECEIVED", n)
		}
	}
	return err
}

// messageEvent records a "message" span event, as the conventions name
// them.
func messageEvent(span trace.Span, typ string, id int64) {
	span.AddEvent("message", trace.WithAttributes(
		attribute.String("rpc.message.type", typ),
		attribute.Int64("rpc.message.id", id)))
}
