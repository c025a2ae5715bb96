package client

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/diag"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/core/transport"
)

// DefaultConnectTimeout bounds dialing unless WithConnectTimeout says
// otherwise.
const DefaultConnectTimeout = time.Second

// PoolConfig configures the long-connection pool.
type PoolConfig struct {
	// MaxIdlePerAddress is the most idle connections kept per address
	// (default 10).
	MaxIdlePerAddress int
	// MaxIdleGlobal is the most idle connections kept in all (default 100).
	MaxIdleGlobal int
	// MaxIdleTimeout closes connections idle longer than this (default
	// 1 min).
	MaxIdleTimeout time.Duration
}

// DefaultPoolConfig is the pool configuration when none is given: Kitex's
// defaults.
var DefaultPoolConfig = PoolConfig{MaxIdlePerAddress: 10, MaxIdleGlobal: 100, MaxIdleTimeout: time.Minute}

// Option configures a Client.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// Suite bundles options; WithSuite applies them in order.
type Suite interface{ Options() []Option }

type options struct {
	resolver         discovery.Resolver
	balancer         loadbalance.Balancer
	transport        transport.Protocol
	codec            codec.Codec
	engine           engine.Engine
	rpcTimeout       time.Duration
	connectTimeout   time.Duration
	pool             PoolConfig
	short            bool
	mux              int
	modes            []string // the connection-mode options given (one at most)
	maxFrame         int
	middlewares      []endpoint.Middleware
	instanceMWs      []endpoint.Middleware
	tracers          []stats.Tracer
	statsLevel       *stats.Level
	logger           *slog.Logger
	caller           string
	metaHandlers     []transport.MetaHandler
	streamProto      stream.Protocol
	streamCodec      stream.Codec
	streamConns      int
	tls              *tls.Config
	engineSet        bool  // WithEngine was given
	err              error // the first invalid option; New returns it
	refresh          time.Duration
	balancerWrappers []func(loadbalance.Balancer) loadbalance.Balancer
	resolverWrappers []func(discovery.Resolver) discovery.Resolver
	httpResolver     discovery.HTTPResolver
	diag             *diag.Registry // WithDiagnosis (diag.go)
	heapFloor        int            // WithHeapFloor
}

// fail records err as the options' error unless one is already recorded.
func (o *options) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// WithHostPorts calls the given addresses ("host:port", or a unix socket
// path: an address with a '/') directly, balanced by the client's
// balancer, instead of resolving the service. New fails when an address
// is invalid (no port, a bad port, or empty); host names are resolved
// when dialing.
func WithHostPorts(addrs ...string) Option {
	return optionFunc(func(o *options) {
		ins := make([]discovery.Instance, 0, len(addrs))
		for _, a := range addrs {
			in, err := discovery.ParseAddress(a)
			if err != nil {
				o.fail(fmt.Errorf("client: WithHostPorts: invalid address %q: %w", a, err))
				return
			}
			ins = append(ins, in)
		}
		o.resolver = discovery.NewStatic(ins...)
	})
}

// WithResolver sets the service discovery resolver.
func WithResolver(r discovery.Resolver) Option {
	return optionFunc(func(o *options) { o.resolver = r })
}

// WithHTTPResolver sets how the URLs of WithURL calls become addresses
// (Kitex's client.WithHTTPResolver). The default is
// discovery.NewHTTPResolver("tcp"): the URL's host looked up in DNS, its
// port or the scheme's. A nil r keeps the default.
func WithHTTPResolver(r discovery.HTTPResolver) Option {
	return optionFunc(func(o *options) { o.httpResolver = r })
}

// WithLoadBalancer sets the balancer (default weighted round robin).
func WithLoadBalancer(b loadbalance.Balancer) Option {
	return optionFunc(func(o *options) { o.balancer = b })
}

// WithDiscoveryRefresh sets how often the client re-resolves a service in
// the background when its resolver cannot push changes (one that is not a
// discovery.Watcher); default DefaultDiscoveryRefresh (5 s). Calls never
// wait for the resolver, except a client's first calls before it has any
// instance set. d <= 0 keeps the default. Clients of the same resolver and
// service share one refresh loop, at the interval of the first of them.
func WithDiscoveryRefresh(d time.Duration) Option {
	return optionFunc(func(o *options) { o.refresh = d })
}

// WithBalancerWrapper adds w, which wraps the balancer the client ends up
// with (WithLoadBalancer's, or the default weighted round robin) whatever
// the order of the options. Wrappers apply in the order added, the last
// outermost. A module's option uses it to add behaviour around the user's
// choice, such as a breaker that skips instances whose circuit is open.
// The client looks for the optional capabilities (loadbalance.Feedback,
// ErrorPicker, ChangeObserver) on the outermost balancer and picker only:
// a wrapper passes them on to what it wraps. A wrapper that asks the inner
// picker for an instance and does not use it (to skip it) must still pass
// a Done for it to an inner Feedback, with an error matching
// context.Canceled (no sample, see loadbalance.DoneInfo), or the inner
// balancer's count of calls in flight drifts.
func WithBalancerWrapper(w func(loadbalance.Balancer) loadbalance.Balancer) Option {
	return optionFunc(func(o *options) { o.balancerWrappers = append(o.balancerWrappers, w) })
}

// WithResolverWrapper adds w, which wraps the resolver the client ends up
// with (WithResolver's or WithHostPorts'), as WithBalancerWrapper does for
// balancers. A client without a resolver ignores it.
func WithResolverWrapper(w func(discovery.Resolver) discovery.Resolver) Option {
	return optionFunc(func(o *options) { o.resolverWrappers = append(o.resolverWrappers, w) })
}

// WithTransport sets the transport protocol (default transport.Framed, as
// Kitex).
func WithTransport(p transport.Protocol) Option {
	return optionFunc(func(o *options) { o.transport = p })
}

// WithCodec sets the message codec (default: the codec registered under the
// service's Codec name).
func WithCodec(c codec.Codec) Option { return optionFunc(func(o *options) { o.codec = c }) }

// WithEngine sets the connection engine (default engine.Default, Netpoll
// where it runs, for every transport, HTTP/2 included). WithTLSConfig
// dials on engine.Std, the engine that runs TLS.
func WithEngine(e engine.Engine) Option {
	return optionFunc(func(o *options) { o.engine, o.engineSet = e, true })
}

// WithRPCTimeout bounds every call (default none; the context deadline
// still applies). A call past it returns an error matching
// status.ErrTimeout, and its connection is closed.
func WithRPCTimeout(d time.Duration) Option { return optionFunc(func(o *options) { o.rpcTimeout = d }) }

// WithHeapFloor sets the floor under the garbage collector's heap goal
// that New asks for (default gcfloor.Default, 16 MiB; n <= 0, or n above
// gcfloor.Max (1 GiB), asks for none). The floor is process-wide, the
// largest any client or server asked for, and it is not set when the
// program tunes the collector itself (GOGC or GOMEMLIMIT in its
// environment, a percentage other than 100 or a memory limit set with
// debug.SetGCPercent or debug.SetMemoryLimit before New; a floor already
// raised stays): see package gcfloor for what it costs and saves.
func WithHeapFloor(n int) Option {
	return optionFunc(func(o *options) { o.heapFloor = n })
}

// WithConnectTimeout bounds dialing (default 1 s).
func WithConnectTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.connectTimeout = d })
}

// Connection modes. A client uses one of three ways to hold connections,
// chosen by at most one of WithLongConnection, WithShortConnection and
// WithMultiplex (New fails when more than one is given):
//   - without any, a pool of connections with one call at a time each
//     (DefaultPoolConfig); on a protocol that carries the out-of-order flag
//     (TTHeader, see transport.OutOfOrderCarrier) the client offers it, and
//     an address whose server answers that it serves calls out of order (a
//     Skiff server) is multiplexed from then on, over that one connection,
//     as with WithMultiplex(1). Kitex and Apache servers never answer so
//     and keep the pool;
//   - WithLongConnection: that pool, configured, and never multiplexed;
//   - WithShortConnection: a connection per call;
//   - WithMultiplex: multiplexed connections, whatever the server says.

// WithLongConnection uses a pool of connections with one call at a time
// each, configured by cfg (zero fields take the DefaultPoolConfig values),
// and never multiplexes. See the connection modes above.
func WithLongConnection(cfg PoolConfig) Option {
	return optionFunc(func(o *options) {
		o.pool, o.short, o.mux = cfg, false, 0
		o.modes = append(o.modes, "WithLongConnection")
	})
}

// WithMultiplex pipelines calls over conns shared connections per address
// (default 2 when conns <= 0) instead of one connection per call in
// flight. Calls take the connections in turn; the requests queued on a
// connection are written together in one flush, and one read loop per
// connection, shared by all its calls, reads the replies one after another
// and hands each to its call by sequence id. A call that times out or is
// canceled stops waiting but leaves its connection open for the others;
// its late reply is read and dropped.
//
// The server must answer every request on the connection it came on, with
// its sequence id, in any order. Over TTHeader the requests carry the
// out-of-order flag, and a Skiff server runs them at once and answers each
// when it is done, so a slow call holds up no other (see
// server.WithConnConcurrency). Over Thrift Framed, and with Kitex and
// Apache Thrift servers, a connection's requests are served one after
// another and answered in order: a slow call delays every call queued
// behind it on that connection. Use it with Framed only towards Skiff
// servers (the default connection mode multiplexes TTHeader by itself).
// See the connection modes above.
func WithMultiplex(conns int) Option {
	return optionFunc(func(o *options) {
		if conns <= 0 {
			conns = 2
		}
		o.mux, o.short = conns, false
		o.modes = append(o.modes, "WithMultiplex")
	})
}

// WithShortConnection makes a new connection for every call and closes it
// after.
func WithShortConnection() Option {
	return optionFunc(func(o *options) {
		o.short, o.mux = true, 0
		o.modes = append(o.modes, "WithShortConnection")
	})
}

// WithMaxFrameSize bounds a reply frame (default 16 MiB).
func WithMaxFrameSize(n int) Option { return optionFunc(func(o *options) { o.maxFrame = n }) }

// WithMiddleware appends middleware that runs before instance selection;
// the first added is outermost.
func WithMiddleware(mw ...endpoint.Middleware) Option {
	return optionFunc(func(o *options) { o.middlewares = append(o.middlewares, mw...) })
}

// WithInstanceMiddleware appends middleware that runs after an instance
// has been chosen (callinfo.From(ctx).Address is set).
func WithInstanceMiddleware(mw ...endpoint.Middleware) Option {
	return optionFunc(func(o *options) { o.instanceMWs = append(o.instanceMWs, mw...) })
}

// WithTracer adds a tracer; it raises the default stats level to
// stats.LevelDetailed.
func WithTracer(t stats.Tracer) Option {
	return optionFunc(func(o *options) { o.tracers = append(o.tracers, t) })
}

// WithStatsLevel sets the stats level explicitly.
func WithStatsLevel(l stats.Level) Option { return optionFunc(func(o *options) { o.statsLevel = &l }) }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return optionFunc(func(o *options) { o.logger = l }) }

// WithCaller names the calling service, recorded in each call's info and
// sent on protocols that carry it.
func WithCaller(name string) Option { return optionFunc(func(o *options) { o.caller = name }) }

// WithMetaHandler adds a handler that writes request metadata and reads
// reply metadata (int and string keys) after the transport's own. It runs
// only on framed transports that carry metadata (TTHeader: those that
// implement transport.MetaHandler); other framed transports and stream
// transports (WithStreamTransport, such as HTTP/2) never call it. On gRPC,
// send and read metadata with codec-grpc's metadata API or core/metainfo.
func WithMetaHandler(h transport.MetaHandler) Option {
	return optionFunc(func(o *options) { o.metaHandlers = append(o.metaHandlers, h) })
}

// WithSuite applies the options of s in order.
func WithSuite(s Suite) Option {
	return optionFunc(func(o *options) {
		for _, opt := range s.Options() {
			opt.apply(o)
		}
	})
}

// CallOption configures one call.
type CallOption interface{ applyCall(*callOptions) }

type callOptions struct {
	hostPort string
	url      string
	timeout  time.Duration
	sets     []func(*callinfo.Info)
}

type callOptionFunc func(*callOptions)

func (f callOptionFunc) applyCall(o *callOptions) { f(o) }

// WithHostPort sends this call to addr, bypassing discovery and balancing.
func WithHostPort(addr string) CallOption {
	return callOptionFunc(func(o *callOptions) { o.hostPort = addr })
}

// WithURL sends this call to the address the client's HTTP resolver gives
// for rawURL (WithHTTPResolver), bypassing discovery and balancing as
// WithHostPort does; WithHostPort takes precedence. Only the URL's host
// and port matter (Kitex's callopt.WithURL also uses the path, for its
// HTTP transport). The URL is resolved at each attempt; when it does not
// resolve, the attempt fails with an error matching status.ErrNoInstance
// before anything is sent.
func WithURL(rawURL string) CallOption {
	return callOptionFunc(func(o *callOptions) { o.url = rawURL })
}

// WithCallOption sets a per-call option that a module defines with
// callinfo.NewKey: the call's middleware finds v with k.Get. Modules wrap
// it in their own typed options (retry.WithPolicy, say).
func WithCallOption[T any](k *callinfo.Key[T], v T) CallOption {
	return callOptionFunc(func(o *callOptions) {
		o.sets = append(o.sets, func(i *callinfo.Info) { k.Set(i, v) })
	})
}

// WithCallTimeout sets this call's RPC timeout, overriding WithRPCTimeout.
func WithCallTimeout(d time.Duration) CallOption {
	return callOptionFunc(func(o *callOptions) { o.timeout = d })
}
