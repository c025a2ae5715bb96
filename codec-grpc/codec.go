package grpccodec

import (
	"sync"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/stream"
)

// Name is the codec's registry name.
const Name = "grpc"

// Version is the version this package reports in its user agent.
const Version = "0.1.0"

// DefaultUserAgent is the user-agent a client sends by default.
const DefaultUserAgent = "grpc-go-compatible skiff/" + Version

// Options configures a [Codec]. The zero value is the default.
type Options struct {
	// MaxRecvMsgSize bounds a received message, after decompression, in
	// bytes; a longer one ends the call with RESOURCE_EXHAUSTED. 0 means
	// [DefaultMaxRecvMsgSize] (4 MiB).
	MaxRecvMsgSize int
	// SendCompressor compresses the messages a client sends: "" or
	// "identity" for none, "gzip" for gzip. A server always answers in the
	// encoding of the request when it supports it.
	SendCompressor string
	// UserAgent is the user-agent a client sends before
	// [DefaultUserAgent]; "" sends DefaultUserAgent alone.
	UserAgent string
}

// Codec is gRPC as a [stream.Codec] and [stream.UnaryCaller]. It is
// stateless beyond its options and safe for concurrent use.
type Codec struct {
	maxRecv    int
	compressor string
	userAgent  string
	paths      sync.Map // pathKey -> string: the ":path" of each method called
}

// pathKey names a method of a service for the path cache.
type pathKey struct {
	svc    *service.Info
	method string
}

// path returns "/" + svc.FullName() + "/" + method, built once per method.
func (c *Codec) path(svc *service.Info, method string) string {
	k := pathKey{svc, method}
	if p, ok := c.paths.Load(k); ok {
		return p.(string)
	}
	p := "/" + svc.FullName() + "/" + method
	c.paths.Store(k, p)
	return p
}

var (
	_ stream.Codec       = (*Codec)(nil)
	_ stream.UnaryCaller = (*Codec)(nil)
	_ codec.RawCarrier   = (*Codec)(nil)
)

// CarriesRaw implements codec.RawCarrier: a codec.Raw (or *codec.Raw)
// message is sent verbatim, whatever the content subtype, and a message
// received into a *codec.Raw is checked (the protobuf wire format; one
// struct for application/grpc+thrift, through the registered Thrift payload
// codec) and copied. A server serves unknown methods on gRPC with its
// server.WithUnknownMethodHandler, as unary calls, because of it.
func (c *Codec) CarriesRaw() bool { return true }

// New returns a codec with options o. Register it with
// stream.RegisterCodec to replace the default one, or give it to a server
// or client by option.
func New(o Options) *Codec {
	c := &Codec{maxRecv: o.MaxRecvMsgSize, userAgent: DefaultUserAgent}
	if c.maxRecv <= 0 {
		c.maxRecv = DefaultMaxRecvMsgSize
	}
	if o.SendCompressor == encodingGzip {
		c.compressor = encodingGzip
	}
	if o.UserAgent != "" {
		c.userAgent = o.UserAgent + " " + DefaultUserAgent
	}
	return c
}

// Default is the codec registered under "grpc" from init, with the zero
// [Options].
var Default = New(Options{})

func init() { stream.RegisterCodec(Default) }

// Name returns "grpc".
func (c *Codec) Name() string { return Name }

// ForProtocol implements stream.ProtocolMatcher: gRPC is the default codec
// of HTTP/2 ("http2").
func (c *Codec) ForProtocol(protocol string) bool { return protocol == "http2" }

// Detect reports whether h is a gRPC request: a content-type of
// application/grpc, optionally with a "+subtype" or parameters.
func (c *Codec) Detect(h stream.Header) bool {
	_, ok := parseContentType(h.Get("content-type"))
	return ok
}
