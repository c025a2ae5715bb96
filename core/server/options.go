package server

import (
	"crypto/tls"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/diag"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/gcfloor"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/core/transport"
)

// Defaults.
const (
	// DefaultAddress is where a server listens unless WithAddress says
	// otherwise.
	DefaultAddress = ":8888"
	// DefaultExitWaitTime bounds a graceful shutdown.
	DefaultExitWaitTime = 5 * time.Second
	// DefaultReadTimeout bounds reading the rest of a partly received
	// request.
	DefaultReadTimeout = 5 * time.Second
	// DefaultIdleTimeout closes connections idle this long. Ten minutes,
	// as Kitex: far longer than the idle timeout of client pools (Skiff's
	// DefaultPoolConfig: one minute), so a client closes its idle
	// connections itself and never finds one closed under it, while the
	// connections of clients that vanished without a FIN are reclaimed in
	// bounded time. Idle connections cannot exhaust the server meanwhile:
	// WithMaxConns bounds how many are open.
	DefaultIdleTimeout = 10 * time.Minute
)

// Option configures a Server or an Invoker.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// Suite bundles options; WithSuite applies them in order.
type Suite interface{ Options() []Option }

type options struct {
	network, address string
	listener         net.Listener
	engine           engine.Engine
	exitWait         time.Duration
	readTimeout      time.Duration
	idleTimeout      time.Duration
	maxFrame         int
	maxConns         int // WithMaxConns (limits.go)
	middlewares      []endpoint.Middleware
	tracers          []stats.Tracer
	statsLevel       *stats.Level
	logger           *slog.Logger
	transports       []transport.Protocol
	codecs           []codec.Codec
	streamProtos     []stream.Protocol
	streamCodecs     []stream.Codec
	registry         registry.Registry
	registryInfo     *registry.Info
	advertiseAddr    string
	metaHandlers     []transport.MetaHandler
	ext              *extensions    // WithConnHook, WithUnknownMethodHandler (extensions.go)
	engineSet        bool           // WithEngine was given
	tls              *tls.Config    // WithTLSConfig
	tlsOptional      bool           // WithTLSOptional
	connConcurrency  int            // WithConnConcurrency
	heapFloor        int            // WithHeapFloor
	diag             *diag.Registry // WithDiagnosis (diag.go)
}

func defaultOptions() options {
	return options{
		network:         "tcp",
		address:         DefaultAddress,
		engine:          engine.Default,
		exitWait:        DefaultExitWaitTime,
		readTimeout:     DefaultReadTimeout,
		idleTimeout:     DefaultIdleTimeout,
		maxFrame:        transport.DefaultMaxFrameSize,
		maxConns:        DefaultMaxConns,
		connConcurrency: DefaultConnConcurrency,
		heapFloor:       gcfloor.Default,
	}
}

// DefaultConnConcurrency is how many calls of one connection run at once
// by default when the client takes replies out of order.
const DefaultConnConcurrency = 1024

// WithConnConcurrency bounds how many calls of one connection run at once
// (default DefaultConnConcurrency). It applies to requests whose client
// takes replies in any order (TTHeader's out-of-order flag, which Skiff's
// multiplexing clients set): each runs on a goroutine of its own and its
// reply is written when it is done, so a slow call holds up no other. At
// the bound, the connection's next call runs on its reading goroutine,
// which stops reading until it is done (so at most n+1 run at once).
// n <= 1 serves every connection's
// calls one after another, in order, and tells clients so (they then do
// not multiplex). Requests without the flag (Thrift Framed and Buffered,
// Kitex, TTHeader without it) are always served in order.
func WithConnConcurrency(n int) Option {
	return optionFunc(func(o *options) { o.connConcurrency = n })
}

// WithAddress sets the listen address (default ":8888"): "host:port" for
// TCP, or a unix socket path, which is any address with a '/' in it (write
// "./skiff.sock" for a socket in the working directory). This is the rule
// client.WithHostPorts follows.
func WithAddress(addr string) Option {
	return optionFunc(func(o *options) {
		o.network = "tcp"
		if strings.ContainsRune(addr, '/') {
			o.network = "unix"
		}
		o.address = addr
	})
}

// WithListener serves ln instead of listening on the address. The default
// Netpoll engine serves only *net.TCPListener, *net.UnixListener and its
// own listeners (Start fails on others): serve any other wrapping listener
// with WithEngine(engine.Std). For TLS, WithTLSConfig is simpler (it wraps
// the listener itself); do not give it a TLS listener as well.
func WithListener(ln net.Listener) Option {
	return optionFunc(func(o *options) { o.listener = ln })
}

// WithEngine sets the connection engine (default engine.Default).
func WithEngine(e engine.Engine) Option {
	return optionFunc(func(o *options) { o.engine, o.engineSet = e, true })
}

// WithExitWaitTime bounds a graceful shutdown (default 5 s): in-flight calls
// get this long to finish before connections are closed.
func WithExitWaitTime(d time.Duration) Option {
	return optionFunc(func(o *options) { o.exitWait = d })
}

// WithReadTimeout bounds reading the rest of a request once its first bytes
// arrived (default 5 s; 0 disables).
func WithReadTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.readTimeout = d })
}

// WithIdleTimeout closes connections with no traffic for d (default 10 min;
// 0 disables).
func WithIdleTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.idleTimeout = d })
}

// WithMaxFrameSize bounds one request frame or message (default 16 MiB).
// Larger requests are rejected before their body is read, and the
// connection is closed.
func WithMaxFrameSize(n int) Option { return optionFunc(func(o *options) { o.maxFrame = n }) }

// WithMiddleware appends server middleware; the first added is outermost.
func WithMiddleware(mw ...endpoint.Middleware) Option {
	return optionFunc(func(o *options) { o.middlewares = append(o.middlewares, mw...) })
}

// WithTracer adds a tracer. Installing one raises the default stats level
// to stats.LevelDetailed.
func WithTracer(t stats.Tracer) Option {
	return optionFunc(func(o *options) { o.tracers = append(o.tracers, t) })
}

// WithStatsLevel sets the stats level explicitly.
func WithStatsLevel(l stats.Level) Option {
	return optionFunc(func(o *options) { o.statsLevel = &l })
}

// WithLogger sets the logger for framework events (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return optionFunc(func(o *options) { o.logger = l }) }

// WithTransports sets the transport protocols the server sniffs, in order
// (default: every registered protocol, transport.All()).
func WithTransports(ps ...transport.Protocol) Option {
	return optionFunc(func(o *options) { o.transports = ps })
}

// WithStreamProtocols sets the stream transports (HTTP/2) the server
// sniffs for on every connection, besides the framed transports (default:
// every protocol registered with stream.Register, so importing
// transport-http2 is enough). An empty call turns streams off.
func WithStreamProtocols(ps ...stream.Protocol) Option {
	return optionFunc(func(o *options) {
		if ps == nil {
			ps = []stream.Protocol{}
		}
		o.streamProtos = ps
	})
}

// WithStreamCodecs sets the message protocols served on streams (default:
// every codec registered with stream.RegisterCodec, such as gRPC). A
// stream whose request header no codec recognises is reset.
func WithStreamCodecs(cs ...stream.Codec) Option {
	return optionFunc(func(o *options) { o.streamCodecs = cs })
}

// WithCodecs sets the message codecs the server sniffs (default: every
// registered codec, codec.All()).
func WithCodecs(cs ...codec.Codec) Option {
	return optionFunc(func(o *options) { o.codecs = cs })
}

// WithRegistry registers the server with r. Start calls r.Register once,
// after the listener is open, and returns after it; Stop calls
// r.Deregister once, before the server stops accepting connections (and
// even if Register failed, as a registration may be partial).
//
// The Info registered is a copy of info (which may be nil) with its empty
// fields filled in; info itself is not modified:
//
//   - Services: every registered service's bare name (service.Info.Name),
//     each once, in the order RegisterService was called; or
//     [info.ServiceName] when info sets only ServiceName.
//   - ServiceName: Services[0].
//   - Addr: the WithAdvertiseAddress address verbatim if set; otherwise
//     the listen address, with an unspecified TCP host (":8888",
//     "0.0.0.0:8888", "[::]:8888") replaced by this machine's first
//     non-loopback, non-link-local IPv4 address on an up interface, or by
//     127.0.0.1 when it has none. A specific listen host and a unix socket
//     path are used as they are.
//
// Weight and Tags are taken from info as they are (0 and nil when info is
// nil).
//
// A failing Register does not fail Start: as Kitex does, the server logs
// the error (level Error) and keeps serving unregistered, and
// Server.RegisterErr reports the error. A failing Deregister is logged and
// does not fail Stop.
func WithRegistry(r registry.Registry, info *registry.Info) Option {
	return optionFunc(func(o *options) { o.registry, o.registryInfo = r, info })
}

// WithAdvertiseAddress sets the address registered with the registry
// (WithRegistry), the one clients dial, verbatim: "host:port", with a host
// name or an IP address that is not unspecified (not 0.0.0.0 or [::]) and
// a port from 1 to 65535. Start fails, before listening, when addr is not
// such an address. Use it when the server is reached through an address
// other than the one it listens on (NAT, containers). The default is the
// listen address, its unspecified host replaced as WithRegistry says. An
// Addr set in WithRegistry's Info takes precedence.
func WithAdvertiseAddress(addr string) Option {
	return optionFunc(func(o *options) { o.advertiseAddr = addr })
}

// WithMetaHandler adds a handler that reads request metadata and writes
// reply metadata (int and string keys) after the transport's own. It runs
// only for calls on framed transports that carry metadata (TTHeader: those
// that implement transport.MetaHandler); other framed transports and
// stream transports (HTTP/2) never call it. On gRPC, read and write
// metadata with codec-grpc's metadata API or core/metainfo.
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

// WithHeapFloor sets the floor under the garbage collector's heap goal
// that the server asks for when it starts (default gcfloor.Default,
// 16 MiB; n <= 0, or n above gcfloor.Max (1 GiB), asks for none). The
// floor is process-wide, the largest any server or client asked for, and
// it is not set when the program tunes the collector itself (GOGC or
// GOMEMLIMIT in its environment, a percentage other than 100 or a memory
// limit set with debug.SetGCPercent or debug.SetMemoryLimit before Start;
// a floor already raised stays): see package gcfloor for what it costs
// and saves. Without it, a server whose live heap is a few
// MiB collects every few MiB it allocates; pinned at 16 KB messages, about
// 110 times a second, which took a fifth of its CPU.
func WithHeapFloor(n int) Option {
	return optionFunc(func(o *options) { o.heapFloor = n })
}
