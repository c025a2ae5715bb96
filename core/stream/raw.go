package stream

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/skiffrpc/skiff/core/conn"
)

// Protocol is a stream transport, such as HTTP/2. It takes over whole
// connections: the server hands it a connection once Detect recognises the
// first bytes, the client once it has dialled. Implementations must be safe
// for concurrent use.
type Protocol interface {
	// Name is the registry name, such as "http2".
	Name() string
	// Detect reports whether prefix (transport.DetectLen bytes, or fewer
	// if the peer sent fewer) starts a connection of this protocol.
	Detect(prefix []byte) bool
	// NewServerConn takes over an accepted connection. Nothing has been
	// read from it (the detected prefix is still buffered).
	NewServerConn(c conn.Conn, p ServerConnParams) (ServerConn, error)
	// NewClientConn takes over a dialled connection and performs the
	// protocol's handshake (HTTP/2: preface and SETTINGS).
	NewClientConn(c conn.Conn, p ClientConnParams) (ClientConn, error)
}

// ServerConnParams configures a server connection.
type ServerConnParams struct {
	// Handler is called in a new goroutine for every stream the peer
	// opens; the protocol recovers a panic in it and resets the stream. The stream ends when the handler has called Close or Reset
	// on it and returned; a handler that returns without either resets
	// the stream. Required.
	Handler func(s RawServerStream)
	// Logger receives connection-level errors; nil means slog.Default().
	Logger *slog.Logger
}

// ErrServerStopping is the cause (context.Cause) of a server stream's
// context canceled because the server stopped before the stream ended. A
// stream codec ends such a stream with its protocol's "unavailable"
// status (gRPC: UNAVAILABLE), which tells the client to try elsewhere.
var ErrServerStopping = errors.New("stream: server shutting down")

// StopGrace is how long ServerConn.Shutdown waits, after canceling the
// streams still open when its ctx ended, for their handlers to end them.
const StopGrace = 100 * time.Millisecond

// ServerConn is a server connection owned by a stream protocol.
type ServerConn interface {
	// Serve reads and dispatches until the connection ends; it returns
	// nil after Shutdown or Close, or the error that ended it.
	Serve() error
	// Shutdown stops accepting new streams (HTTP/2: GOAWAY) and waits
	// until the open streams end. If ctx is done first, it cancels the
	// context of each open stream with cause ErrServerStopping, gives their
	// handlers up to StopGrace to end them with a status, then closes the
	// connection and returns ctx.Err().
	Shutdown(ctx context.Context) error
	// Close closes the connection at once; open streams are reset.
	Close() error
}

// ClientConnParams configures a client connection.
type ClientConnParams struct {
	// Authority is the default ":authority" of requests (host:port).
	Authority string
	// Logger receives connection-level errors; nil means slog.Default().
	Logger *slog.Logger
}

// ClientConn is a client connection owned by a stream protocol. It is safe
// for concurrent use: many streams share it.
type ClientConn interface {
	// NewStream opens a stream with h as its request header block; the
	// block may be queued until the stream's first Flush, CloseSend,
	// Header or Read, so that it leaves in one write with the data.
	// h holds ":path" and the request's own fields; the protocol adds the
	// other pseudo-headers (":method" POST, ":scheme", ":authority" unless
	// given). The stream is reset when ctx ends before it completes. It
	// fails with an error matching status.ErrUnsent when the connection
	// cannot take a new stream (the request was not sent).
	NewStream(ctx context.Context, h Header) (RawClientStream, error)
	// Available reports whether the connection is open and not going
	// away. A connection at the peer's stream limit is still available:
	// NewStream waits for a free slot. Pools retire connections that are
	// not available.
	Available() bool
	// Streams returns the number of open streams.
	Streams() int
	// Close closes the connection; open streams fail.
	Close() error
}

// RawServerStream is the server side of one raw stream. Read is used by
// one goroutine, the writing methods by one goroutine (possibly another);
// Context and Reset are safe from any goroutine, and Reset may be called
// more than once (later calls do nothing).
type RawServerStream interface {
	// Context is done when the peer resets the stream, the connection
	// ends, or the stream completes. It carries no deadline.
	Context() context.Context
	// Header returns the request header block, pseudo-headers included.
	Header() Header
	// Read reads request data; it returns io.EOF after the peer ended its
	// side, or an error if the stream was reset.
	Read(p []byte) (int, error)
	// WriteHeader sends the response header block (":status" 200 is added
	// unless given). It may be called once, before any Write.
	WriteHeader(h Header) error
	// Write buffers response data, sending the header block first if it
	// was not sent; it blocks on flow control. Data is sent by Flush, or
	// earlier when buffers fill.
	Write(p []byte) (int, error)
	// Flush sends buffered data.
	Flush() error
	// Close ends the stream with trailer fields. If no header block was
	// sent, it sends one header block with ":status" and trailer
	// together (a trailers-only response).
	Close(trailer Header) error
	// Reset aborts the stream with an error code (HTTP/2 RST_STREAM).
	Reset(code uint32)
}

// RawClientStream is the client side of one raw stream. Reading methods
// are used by one goroutine, writing methods by one goroutine; Context and
// Reset are safe from any goroutine, and Reset may be called more than
// once (later calls do nothing).
type RawClientStream interface {
	// Context is the context the stream was opened with.
	Context() context.Context
	// Write buffers request data; it blocks on flow control.
	Write(p []byte) (int, error)
	// Flush sends buffered data.
	Flush() error
	// CloseSend ends the request side (END_STREAM), flushing first.
	CloseSend() error
	// Header waits for the response header block. For a trailers-only
	// response it returns that block and Read returns io.EOF at once.
	Header() (Header, error)
	// Read reads response data; io.EOF after the server ended the stream.
	Read(p []byte) (int, error)
	// Trailer returns the trailer block; valid after Read returned io.EOF.
	Trailer() Header
	// Reset aborts the stream with an error code (HTTP/2 RST_STREAM).
	Reset(code uint32)
}

// Lender is an optional capability of a [RawServerStream] or
// [RawClientStream] whose transport buffers received data: it lends the
// buffered bytes in place, so a codec can decode a message that arrived
// whole without first copying it out. Lend and Consume are reading
// methods: they are used by the goroutine that reads, never between a
// Lend and its Consume with Read.
type Lender interface {
	// Lend waits as Read does until received data is buffered and returns
	// all of it without consuming it; at the end of the stream it returns
	// io.EOF, and Read's errors otherwise. The bytes stay valid until
	// Consume, which must be called before the next Lend or Read.
	Lend() ([]byte, error)
	// Consume ends the loan of the last Lend: its first n bytes are read
	// (n = 0 consumes nothing), the rest stays buffered, and none of the
	// lent bytes may be used any more.
	Consume(n int)
}

// Error codes for Reset, as HTTP/2 numbers them.
const (
	CodeNo       uint32 = 0x0
	CodeProtocol uint32 = 0x1
	CodeInternal uint32 = 0x2
	CodeRefused  uint32 = 0x7
	CodeCancel   uint32 = 0x8
)

var (
	mu        sync.RWMutex
	protocols []Protocol
	codecs    []Codec
)

// Register adds p to the registry of stream protocols that servers sniff
// for; a protocol of the same name is replaced. Transport modules call it
// from init.
func Register(p Protocol) {
	mu.Lock()
	defer mu.Unlock()
	for i, q := range protocols {
		if q.Name() == p.Name() {
			protocols[i] = p
			return
		}
	}
	protocols = append(protocols, p)
}

// Protocols returns the registered stream protocols in registration order.
func Protocols() []Protocol {
	mu.RLock()
	defer mu.RUnlock()
	return append([]Protocol(nil), protocols...)
}

// RegisterCodec adds c to the registry of stream codecs; a codec of the
// same name is replaced. Codec modules call it from init.
func RegisterCodec(c Codec) {
	mu.Lock()
	defer mu.Unlock()
	for i, q := range codecs {
		if q.Name() == c.Name() {
			codecs[i] = c
			return
		}
	}
	codecs = append(codecs, c)
}

// Codecs returns the registered stream codecs in registration order.
func Codecs() []Codec {
	mu.RLock()
	defer mu.RUnlock()
	return append([]Codec(nil), codecs...)
}
