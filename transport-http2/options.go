package h2transport

import (
	"crypto/tls"
	"time"
)

// Defaults of the options.
const (
	// DefaultMaxConcurrentStreams is the number of streams a server lets
	// one client connection open at a time (grpc-go sets no limit; a bound
	// keeps the memory and goroutines of one connection bounded).
	DefaultMaxConcurrentStreams = 1000
	// DefaultMaxHeaderListSize bounds a received header block (the
	// uncompressed size as HTTP/2 counts it), as grpc-go does.
	DefaultMaxHeaderListSize = 16 << 10
	// DefaultInitialWindowSize is the flow-control window of each stream.
	DefaultInitialWindowSize = 64 << 10
	// DefaultConnWindowSize is the flow-control window of a connection.
	DefaultConnWindowSize = 1 << 20
	// DefaultKeepaliveTimeout is how long a keepalive PING may go
	// unanswered before the connection is closed.
	DefaultKeepaliveTimeout = 20 * time.Second
	// DefaultServerKeepaliveTime is how long a server connection may be
	// silent before the server pings the client (grpc-go: 2 hours).
	DefaultServerKeepaliveTime = 2 * time.Hour
	// DefaultMinPingInterval is the shortest interval between client PINGs
	// a server accepts while streams are open (grpc-go: 5 minutes).
	DefaultMinPingInterval = 5 * time.Minute
	// DefaultMaxConnectionIdle is how long a server connection may have
	// no open stream before the server closes it with GOAWAY (see
	// [WithMaxConnectionIdle]).
	DefaultMaxConnectionIdle = 10 * time.Minute
	// DefaultMaxResetBurst and DefaultMaxResetRate bound how fast a client
	// may reset streams (a token bucket): beyond it the server ends the
	// connection with ENHANCE_YOUR_CALM (the "rapid reset" attack).
	DefaultMaxResetBurst = 1000
	// DefaultMaxResetRate is the sustained resets per second allowed.
	DefaultMaxResetRate = 200
)

const (
	// idlePingInterval is the minimum interval between client PINGs a
	// server accepts when no stream is open and pings without streams are
	// not permitted (grpc-go: 2 hours).
	idlePingInterval = 2 * time.Hour
	// maxPingStrikes is how many too-early PINGs are forgiven.
	maxPingStrikes = 2
	// handshakeTimeout bounds the wait for the server's SETTINGS.
	handshakeTimeout = 20 * time.Second
	// goAwayFlushTimeout bounds the wait for a final GOAWAY to be written.
	goAwayFlushTimeout = time.Second
	// maxPending bounds the bytes queued for the socket before writers
	// (and the frame reader, for control frames) wait.
	maxPending = 4 << 20
	// maxControlQueued bounds the answers (PING and SETTINGS ACKs,
	// WINDOW_UPDATE, RST_STREAM) the frame reader queues while a write is
	// in progress: about 60,000 frames.
	maxControlQueued = 1 << 20
	// writeChunk is the buffered stream data that triggers a send.
	writeChunk = 32 << 10
)

// Option configures a [Protocol].
type Option func(*options)

type options struct {
	maxStreams         uint32
	maxHeaderListSize  uint32
	streamWindow       int32
	connWindow         int32
	dynamicWindow      bool          // windows follow the bandwidth-delay product (bdp.go)
	keepaliveTime      time.Duration // client; 0 = off
	keepaliveTimeout   time.Duration
	keepaliveNoStreams bool
	serverKATime       time.Duration
	serverKATimeout    time.Duration
	minPingInterval    time.Duration
	pingNoStreams      bool
	resetBurst         float64
	resetRate          float64
	maxIdle            time.Duration // WithMaxConnectionIdle
	streamMemory       int64         // WithStreamMemory
	budget             *memBudget    // made by New from streamMemory; nil: none
}

func defaultOptions() options {
	return options{
		maxStreams:        DefaultMaxConcurrentStreams,
		maxHeaderListSize: DefaultMaxHeaderListSize,
		streamWindow:      DefaultInitialWindowSize,
		connWindow:        DefaultConnWindowSize,
		dynamicWindow:     true,
		keepaliveTimeout:  DefaultKeepaliveTimeout,
		serverKATime:      DefaultServerKeepaliveTime,
		serverKATimeout:   DefaultKeepaliveTimeout,
		minPingInterval:   DefaultMinPingInterval,
		resetBurst:        DefaultMaxResetBurst,
		resetRate:         DefaultMaxResetRate,
		streamMemory:      DefaultStreamMemory,
		maxIdle:           DefaultMaxConnectionIdle,
	}
}

// WithMaxConcurrentStreams sets the SETTINGS_MAX_CONCURRENT_STREAMS a server
// advertises and enforces (default [DefaultMaxConcurrentStreams]). A stream
// beyond it is refused with REFUSED_STREAM. n must be positive.
func WithMaxConcurrentStreams(n uint32) Option {
	return func(o *options) {
		if n > 0 {
			o.maxStreams = n
		}
	}
}

// WithMaxHeaderListSize sets the largest header block accepted, as
// SETTINGS_MAX_HEADER_LIST_SIZE counts it (default
// [DefaultMaxHeaderListSize]).
func WithMaxHeaderListSize(n uint32) Option {
	return func(o *options) {
		if n > 0 {
			o.maxHeaderListSize = n
		}
	}
}

// WithInitialWindowSize sets the receive window of each stream (default
// [DefaultInitialWindowSize]); it is what a stream buffers at most for a
// reader that does not keep up. Values below 64 KiB are raised to 65535,
// the HTTP/2 default. Setting it fixes the windows: as in grpc-go, it turns
// off their growth with the bandwidth-delay product (see
// [WithDynamicWindows]).
func WithInitialWindowSize(n int32) Option {
	return func(o *options) {
		o.streamWindow = max(n, 65535)
		o.dynamicWindow = false
	}
}

// WithConnWindowSize sets the receive window of the connection (default
// [DefaultConnWindowSize]), which also bounds the data buffered for the
// streams of a connection that their readers have not taken yet. Values
// below 64 KiB are raised to 64 KiB. Setting it fixes the windows, as
// [WithInitialWindowSize] does.
func WithConnWindowSize(n int32) Option {
	return func(o *options) {
		o.connWindow = max(n, 65535)
		o.dynamicWindow = false
	}
}

// WithDynamicWindows turns on or off (default on) the growth of the
// receive windows with the bandwidth-delay product each connection
// measures with PINGs, as grpc-go does: the stream and connection windows
// start at their initial sizes and grow, never shrinking, up to
// [MaxStreamWindow] and [MaxConnWindow]. [WithInitialWindowSize] and
// [WithConnWindowSize] turn it off; an option given after them turns it
// back on from the sizes they set.
func WithDynamicWindows(on bool) Option {
	return func(o *options) { o.dynamicWindow = on }
}

// WithKeepalive makes client connections send a PING after interval without
// frames from the server and close the connection when no frame arrives
// within timeout (0: [DefaultKeepaliveTimeout]). Without streams they only
// ping when withoutStreams is set. Off by default, as in grpc-go. Servers
// must permit the interval (see [WithKeepaliveEnforcement]).
func WithKeepalive(interval, timeout time.Duration, withoutStreams bool) Option {
	return func(o *options) {
		o.keepaliveTime = interval
		if timeout > 0 {
			o.keepaliveTimeout = timeout
		}
		o.keepaliveNoStreams = withoutStreams
	}
}

// WithServerKeepalive makes server connections send a PING after interval
// without frames from the client (default [DefaultServerKeepaliveTime];
// 0 turns it off) and close the connection when nothing arrives within
// timeout (0: [DefaultKeepaliveTimeout]).
func WithServerKeepalive(interval, timeout time.Duration) Option {
	return func(o *options) {
		o.serverKATime = interval
		if timeout > 0 {
			o.serverKATimeout = timeout
		}
	}
}

// WithKeepaliveEnforcement sets the server's ping policy: a client PING
// that comes sooner than minInterval after the previous one (or, with no
// stream open and withoutStreams false, sooner than two hours) is a
// strike, and the third strike ends the connection with GOAWAY
// ENHANCE_YOUR_CALM and debug data "too_many_pings". Sending HEADERS or
// DATA forgives the strikes. Default: 5 minutes, false (grpc-go's).
func WithKeepaliveEnforcement(minInterval time.Duration, withoutStreams bool) Option {
	return func(o *options) {
		o.minPingInterval = minInterval
		o.pingNoStreams = withoutStreams
	}
}

// WithMaxResetRate bounds how fast a client may reset streams on a server
// connection: a token bucket of burst resets refilled at perSecond. A
// client that goes beyond it gets GOAWAY ENHANCE_YOUR_CALM. RST_STREAM with
// NO_ERROR is not counted. (Independently, a server never runs more
// handlers per connection than its stream limit, reset streams included:
// streams beyond are refused.) Defaults:
// [DefaultMaxResetBurst], [DefaultMaxResetRate].
func WithMaxResetRate(burst int, perSecond float64) Option {
	return func(o *options) {
		if burst > 0 {
			o.resetBurst = float64(burst)
		}
		if perSecond > 0 {
			o.resetRate = perSecond
		}
	}
}

// WithMaxConnectionIdle makes a server close a connection that has had no
// open stream for d (default [DefaultMaxConnectionIdle]; 0 means never),
// gracefully: GOAWAY with NO_ERROR and debug data "max_idle", then the
// close. A stream the client opened meanwhile is beyond the GOAWAY's last
// stream id, so the client knows it was not processed and retries it on a
// new connection (Skiff's client and grpc-go's do so transparently).
//
// grpc-go's MaxConnectionIdle does the same and is off by default; here it
// is on, at the idle timeout Skiff servers apply to their other
// connections (server.DefaultIdleTimeout), because an HTTP/2 connection
// is not idle to the server's engine while it is open: without it, a
// client that opens connections and no streams would hold them, and the
// server's connection slots (server.WithMaxConns), for ever.
func WithMaxConnectionIdle(d time.Duration) Option {
	return func(o *options) { o.maxIdle = max(d, 0) }
}

// WithStreamMemory sets the memory budget of the server streams of a
// Protocol, across all its connections (default [DefaultStreamMemory];
// n <= 0 means none). Each open stream is charged a fixed overhead (its
// state and goroutine), the buffers the transport holds for it (received
// data not read yet, response data waiting for the client's flow-control
// window) and the request bytes its handler read before it began to
// answer (a codec assembling a request message), at most 4 MiB of those.
//
// The budget bounds admission: once it is spent, new streams are refused
// with REFUSED_STREAM (clients retry them elsewhere or later; grpc-go
// does so transparently) on the connections holding more than a
// sixteenth of it, and once twice the budget is spent, on every
// connection. Streams already open are not cut: those admitted before the
// budget was spent go on charging what they buffer, so the memory charged
// can pass the budget by a part. A connection holding little (a healthy
// client among stalled ones) keeps opening streams until the hard bound.
// Each connection is bounded on its own by its stream limit
// ([WithMaxConcurrentStreams]) and its connection window: the data
// buffered unread for its streams never exceeds the connection window
// (at most [MaxConnWindow] when the windows grow with the bandwidth-delay
// product), however large the stream windows grew, because DATA waiting
// unread keeps its connection credit. The server
// logs a warning when it starts refusing (at most once a second), and
// [Protocol.MemoryStats] reports the budget, its use and the count
// refused.
//
// The budget belongs to the Protocol value: the one registered by this
// package (used by every server that does not set its stream protocols)
// is shared by all those servers of the process; give a server a budget
// of its own with server.WithStreamProtocols(h2transport.New(...)).
func WithStreamMemory(n int64) Option {
	return func(o *options) { o.streamMemory = n }
}

// TLSConfig returns a copy of cfg (nil: an empty config) that negotiates
// HTTP/2 with ALPN: "h2" first in NextProtos and TLS 1.2 or later, as RFC
// 9113 requires. Use it for servers (with Certificates) and clients alike.
func TLSConfig(cfg *tls.Config) *tls.Config {
	var c *tls.Config
	if cfg == nil {
		c = &tls.Config{}
	} else {
		c = cfg.Clone()
	}
	protos := []string{"h2"}
	for _, p := range c.NextProtos {
		if p != "h2" {
			protos = append(protos, p)
		}
	}
	c.NextProtos = protos
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}
