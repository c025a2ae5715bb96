package limiter

import (
	"context"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// Limits are the fixed limits of one scope: the whole server, or one
// method. A zero field sets no limit of its kind; the zero Limits limits
// nothing.
type Limits struct {
	// QPS is the rate of calls admitted per second, as a token bucket.
	// 0 (or less) sets no rate limit.
	QPS float64
	// Burst is how many calls the bucket admits at once after an idle
	// spell, above the rate. 0 means a tenth of a second's worth of QPS
	// (rounded up, at least 1), as Kitex refills its bucket every 100 ms.
	// It is ignored when QPS is 0.
	Burst int
	// Concurrency is the number of calls that may be in flight (running
	// in the handler) at once. 0 (or less) sets no limit. A stream is one
	// call, in flight for as long as its handler runs.
	Concurrency int
}

// Option configures a [Limiter].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	global   Limits
	methods  map[string]Limits
	maxConns int
	adaptive bool
	logger   *slog.Logger
}

// WithLimits sets the server-wide limits (default: none). Every call counts
// against them, whatever its method.
func WithLimits(l Limits) Option { return optionFunc(func(c *config) { c.global = l }) }

// WithMethodLimits sets the limits of the method named method (as in
// callinfo.Info.Method), in every service the server serves. A call to it
// counts against both these and the server-wide limits. Zero Limits remove
// the method's limits. The default is none for every method.
func WithMethodLimits(method string, l Limits) Option {
	return optionFunc(func(c *config) {
		if c.methods == nil {
			c.methods = map[string]Limits{}
		}
		c.methods[method] = l
	})
}

// WithMaxConnections limits the connections the server keeps open at once
// to n (default 0: no limit). A connection over the limit is refused when
// it is accepted, before any byte of it is read: the server closes it and
// the client sees its connection closed. This is the only limit that
// closes a connection.
func WithMaxConnections(n int) Option { return optionFunc(func(c *config) { c.maxConns = n }) }

// WithAdaptive turns on the adaptive limiter (default off): it sheds calls
// when they queue, judged from measured latency, with no number to
// configure. See [Limiter] and the package README for how it decides.
func WithAdaptive() Option { return optionFunc(func(c *config) { c.adaptive = true }) }

// WithLogger sets the logger for limit changes (level Info) and refused
// connections (level Debug). The default is slog.Default(). Rejected calls
// are not logged: count them with [Limiter.Stats].
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// Limiter is a server-side limiter: QPS and concurrency limits, server-wide
// and per method, a connection limit, and optionally an adaptive limit.
// Install it on a server with server.WithSuite(l): it is a server.Suite
// adding its middleware and its connection hook.
//
// A call over a QPS, concurrency or adaptive limit is answered with an
// error matching status.ErrOverload (code ResourceExhausted). The handler
// does not run, the connection stays open, and the client sees
// status.ErrOverload on every protocol: a Thrift or Kitex Protobuf
// exception (TTHeader, Framed, Buffered) or gRPC RESOURCE_EXHAUSTED. The
// checks run in this order: concurrency (server-wide, then per method),
// the adaptive limit, then QPS (per method, then server-wide); a call
// rejected by a later check gives back the concurrency slots it took.
//
// Every limit can be changed while the server runs ([Limiter.SetLimits],
// [Limiter.SetMethodLimits], [Limiter.SetMaxConnections]); a change takes
// effect for the next call. A Limiter is safe for concurrent use. Install
// it on one server: its counters describe the server it guards.
type Limiter struct {
	epoch    time.Time // the clock: ns since epoch, monotonic
	global   gate
	methods  atomic.Pointer[map[string]*gate] // nil when no method has limits; copied on write
	adaptive *adaptive                        // nil when off
	conns    concLimit
	log      *slog.Logger
	mu       sync.Mutex // serializes changes to methods

	rejConc, rejQPS, rejAdaptive, refused atomic.Uint64

	errConns *status.Error
}

// gate is the limits of one scope.
type gate struct {
	bucket  tokenBucket
	conc    concLimit
	errQPS  *status.Error
	errConc *status.Error
}

func newGate(scope string) *gate {
	return &gate{
		errQPS:  status.Wrap(status.ErrOverload, "limiter: QPS limit of "+scope+" reached", nil),
		errConc: status.Wrap(status.ErrOverload, "limiter: concurrency limit of "+scope+" reached", nil),
	}
}

func (g *gate) set(l Limits) {
	g.bucket.set(l.QPS, l.Burst)
	g.conc.limit.Store(int64(max(l.Concurrency, 0)))
}

// New returns a Limiter with the options applied. With no option it
// limits nothing (and costs one atomic counter per call).
func New(opts ...Option) *Limiter {
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	l := &Limiter{
		epoch:    time.Now(),
		log:      c.logger,
		errConns: status.Wrap(status.ErrOverload, "limiter: connection limit reached", nil),
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	g := newGate("the server")
	l.global.errQPS, l.global.errConc = g.errQPS, g.errConc
	l.global.set(c.global)
	for m, lim := range c.methods {
		l.setMethod(m, lim)
	}
	l.conns.limit.Store(int64(max(c.maxConns, 0)))
	if c.adaptive {
		l.adaptive = newAdaptive()
	}
	return l
}

// now is the limiter's clock: monotonic nanoseconds since New.
func (l *Limiter) now() int64 { return int64(time.Since(l.epoch)) }

// Options implements server.Suite: the limiter's middleware
// (server.WithMiddleware) and its connection hook (server.WithConnHook).
func (l *Limiter) Options() []server.Option {
	return []server.Option{server.WithMiddleware(l.Middleware()), server.WithConnHook(l.ConnHook())}
}

// SetLimits replaces the server-wide limits. In-flight calls are not
// affected; the token bucket keeps its state, so a lower rate applies from
// the next call.
func (l *Limiter) SetLimits(lim Limits) {
	l.global.set(lim)
	l.log.Info("limiter: server limits changed", "qps", lim.QPS, "burst", lim.Burst, "concurrency", lim.Concurrency)
}

// SetMethodLimits replaces the limits of method; zero Limits remove them.
func (l *Limiter) SetMethodLimits(method string, lim Limits) {
	l.mu.Lock()
	l.setMethod(method, lim)
	l.mu.Unlock()
	l.log.Info("limiter: method limits changed", "method", method, "qps", lim.QPS, "burst", lim.Burst, "concurrency", lim.Concurrency)
}

// setMethod installs a method's limits; l.mu is held (or l is not shared).
func (l *Limiter) setMethod(method string, lim Limits) {
	var m map[string]*gate
	if cur := l.methods.Load(); cur != nil {
		if g := (*cur)[method]; g != nil && lim != (Limits{}) {
			g.set(lim) // in place: keeps its bucket and in-flight count
			return
		}
		m = maps.Clone(*cur)
	} else {
		m = map[string]*gate{}
	}
	if lim == (Limits{}) {
		delete(m, method)
	} else {
		g := newGate("method " + method)
		g.set(lim)
		m[method] = g
	}
	if len(m) == 0 {
		l.methods.Store(nil)
		return
	}
	l.methods.Store(&m)
}

// SetMaxConnections changes the connection limit (0: none). Connections
// already open stay open; the limit applies to the next accepted ones.
func (l *Limiter) SetMaxConnections(n int) {
	l.conns.limit.Store(int64(max(n, 0)))
	l.log.Info("limiter: connection limit changed", "max_connections", n)
}

// Stats is a snapshot of a Limiter's counters.
type Stats struct {
	// InFlight is the number of calls running in the handler now.
	InFlight int64
	// Conns is the number of connections open now (accepted and not
	// closed).
	Conns int64
	// RejectedConcurrency, RejectedQPS and RejectedAdaptive count the
	// calls rejected by each kind of limit since New.
	RejectedConcurrency, RejectedQPS, RejectedAdaptive uint64
	// RefusedConns counts the connections refused since New.
	RefusedConns uint64
	// AdaptiveLimit is the adaptive limiter's concurrency limit now (0
	// when it is off).
	AdaptiveLimit int64
	// AdaptiveDrop is the fraction of calls the adaptive limiter sheds
	// now because requests queue before the handlers (0 when it is off or
	// not shedding).
	AdaptiveDrop float64
}

// Stats returns the limiter's counters.
func (l *Limiter) Stats() Stats {
	s := Stats{
		InFlight:            l.global.conc.inflight.Load(),
		Conns:               l.conns.inflight.Load(),
		RejectedConcurrency: l.rejConc.Load(),
		RejectedQPS:         l.rejQPS.Load(),
		RejectedAdaptive:    l.rejAdaptive.Load(),
		RefusedConns:        l.refused.Load(),
	}
	if l.adaptive != nil {
		s.AdaptiveLimit = l.adaptive.current()
		s.AdaptiveDrop = l.adaptive.dropFraction()
	}
	return s
}

// Middleware returns the server middleware that applies the call limits.
// Options installs it; use Middleware directly to place it elsewhere in a
// chain (it should be outermost, so rejected calls cost the least).
func (l *Limiter) Middleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			return l.serve(next, ctx, req, resp)
		}
	}
}

func (l *Limiter) serve(next endpoint.Endpoint, ctx context.Context, req, resp any) error {
	var g *gate
	if m := l.methods.Load(); m != nil {
		if ci := callinfo.From(ctx); ci != nil {
			g = (*m)[ci.Method]
		}
	}
	if !l.global.conc.acquire() {
		l.rejConc.Add(1)
		return l.global.errConc
	}
	if g != nil && !g.conc.acquire() {
		l.global.conc.release()
		l.rejConc.Add(1)
		return g.errConc
	}
	a := l.adaptive
	var now int64
	if a != nil || l.global.bucket.limited() || (g != nil && g.bucket.limited()) {
		now = l.now()
	}
	if err := l.admit(g, a, now); err != nil {
		if g != nil {
			g.conc.release()
		}
		l.global.conc.release()
		return err
	}
	err := next(ctx, req, resp)
	if a != nil {
		if isStream(req) {
			a.release()
		} else {
			a.done(now, l.now())
		}
	}
	if g != nil {
		g.conc.release()
	}
	l.global.conc.release()
	return err
}

// admit applies the adaptive and QPS limits.
// A call the QPS limits reject gives back its adaptive slot.
func (l *Limiter) admit(g *gate, a *adaptive, now int64) error {
	if a != nil && !a.admit(now) {
		l.rejAdaptive.Add(1)
		return a.err
	}
	var err error
	if g != nil && !g.bucket.take(now) {
		err = g.errQPS
	} else if !l.global.bucket.take(now) {
		err = l.global.errQPS
	}
	if err != nil {
		l.rejQPS.Add(1)
		if a != nil {
			a.release()
		}
	}
	return err
}

// isStream reports whether a call is a stream (its handler gets the
// stream as its argument): streams live for as long as the client keeps
// them, so their duration says nothing about queueing.
func isStream(req any) bool {
	_, ok := req.(stream.ServerStream)
	return ok
}

// ConnHook returns the hook that applies the connection limit and counts
// connections. Options installs it.
func (l *Limiter) ConnHook() server.ConnHook { return connHook{l} }

type connHook struct{ l *Limiter }

// Accept implements server.ConnHook.
func (h connHook) Accept(remote net.Addr) error {
	if !h.l.conns.acquire() {
		n := h.l.refused.Add(1)
		if h.l.log.Enabled(context.Background(), slog.LevelDebug) {
			h.l.log.Debug("limiter: connection refused", "remote", remote, "limit", strconv.FormatInt(h.l.conns.limit.Load(), 10), "refused", n)
		}
		return h.l.errConns
	}
	return nil
}

// Closed implements server.ConnHook.
func (h connHook) Closed(net.Addr) { h.l.conns.release() }

var (
	_ server.Suite    = (*Limiter)(nil)
	_ server.ConnHook = connHook{}
)
