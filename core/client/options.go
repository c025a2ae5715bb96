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
	diag             *diag.Registry // WithDiagnosis (diag.go)
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
// a wrapper passes them on to what it wraps.
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
// where it runs; for stream transports such as HTTP/2 the default is
// engine.Std, whose Go-runtime poller lets the transport batch writes
// without Netpoll's single-core stalls).
func WithEngine(e engine.Engine) Option {
	return optionFunc(func(o *options) { o.engine, o.engineSet = e, true })
}

// WithRPCTimeout bounds every call (default none; the context deadline
// still applies). A call past it returns an error matching
// status.ErrTimeout, and its connection is closed.
func WithRPCTimeout(d time.Duration) Option { return optionFunc(func(o *options) { o.rpcTimeout = d }) }

// WithConnectTimeout bounds dialing (default 1 s).
func WithConnectTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.connectTimeout = d })
}

// WithLongConnection configures the connection pool. Zero fields take the
// DefaultPoolConfig values.
func WithLongConnection(cfg PoolConfig) Option {
	return optionFunc(func(o *options) { o.pool, o.short, o.mux = cfg, false, 0 })
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
// its sequence id, in any order. Skiff, Kitex and Apache Thrift servers
// serve a connection's requests one after another and answer in order, so
// multiplexing does not avoid head-of-line blocking: a slow call (or one
// that timed out on the client but still runs on the server) delays every
// call queued behind it on that connection, and a large reply delays the
// replies behind it while the shared read loop reads and decodes it. When
// call latencies vary widely, use more connections, or the default pool
// (one call per connection at a time).
func WithMultiplex(conns int) Option {
	return optionFunc(func(o *options) {
		if conns <= 0 {
			conns = 2
		}
		o.mux, o.short = conns, false
	})
}

// WithShortConnection makes a new connection for every call and closes it
// after.
func WithShortConnection() Option {
	return optionFunc(func(o *options) { o.short, o.mux = true, 0 })
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
	timeout  time.Duration
	sets     []func(*callinfo.Info)
}

type callOptionFunc func(*callOptions)

func (f callOptionFunc) applyCall(o *callOptions) { f(o) }

// WithHostPort sends this call to addr, bypassing discovery and balancing.
func WithHostPort(addr string) CallOption {
	return callOptionFunc(func(o *callOptions) { o.hostPort = addr })
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
