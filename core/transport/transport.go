package transport

import (
	"context"
	"sync"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/conn"
)

// Reader is the zero-copy read side of a connection: an alias of
// [conn.Reader], where it is documented.
type Reader = conn.Reader

// Writer is the zero-copy write side of a connection: an alias of
// [conn.Writer], where it is documented.
type Writer = conn.Writer

// DetectLen is the number of bytes a server peeks at on a new connection
// before asking each protocol's Detect. Every protocol must recognise its
// first message from this many bytes.
const DetectLen = 8

// DefaultMaxFrameSize is the default bound on one frame or message: 16 MiB.
const DefaultMaxFrameSize = 16 << 20

// Protocol is a transport protocol. Implementations must be safe for
// concurrent use; per-connection state, if any, lives in the connection.
type Protocol interface {
	// Name is the registry name, such as "framed", "buffered" or "ttheader".
	Name() string
	// Detect reports whether prefix (DetectLen bytes, or fewer if the peer
	// sent fewer and closed) starts a frame of this protocol.
	Detect(prefix []byte) bool
	// ReadMessage reads one frame from r and returns the message bytes in
	// it (valid until r.Release). Header metadata goes into msg. A frame
	// longer than maxSize is rejected with a protocol error before it is
	// read.
	ReadMessage(r Reader, msg *codec.Message, maxSize int) ([]byte, error)
	// WriteMessage frames msg, encoded by c, and writes it to w without
	// flushing. When it fails, w may hold part of the frame: the caller
	// takes it back ([conn.Rewind]) or does not flush w again.
	WriteMessage(w Writer, msg *codec.Message, c codec.Codec) error
}

// CodecDetector is an optional capability of a [Protocol] whose frames name
// the payload protocol, or whose payload can only be one codec (Thrift
// Buffered). The server uses it instead of sniffing the message bytes.
type CodecDetector interface {
	// Codec returns the name of the codec that must decode msg, or "" to
	// let the server sniff.
	Codec(msg *codec.Message) string
}

var (
	mu        sync.RWMutex
	protocols []Protocol
)

// Register adds p to the registry; a protocol with the same name is
// replaced. Transport modules call it from init. Servers sniff registered
// protocols in registration order.
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

// Lookup returns the registered protocol with the name, or nil.
func Lookup(name string) Protocol {
	mu.RLock()
	defer mu.RUnlock()
	for _, p := range protocols {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// All returns the registered protocols in registration order.
func All() []Protocol {
	mu.RLock()
	defer mu.RUnlock()
	return append([]Protocol(nil), protocols...)
}

// MetaHandler is an optional capability of a [Protocol] whose frames carry
// metadata (TTHeader). The runtime calls it around every call, so a
// protocol that implements it carries metadata by default: caller and
// callee names, deadlines, metainfo, business errors. Stream transports
// (HTTP/2) are not Protocols; their codecs carry metadata themselves.
//
// Implementations must be safe for concurrent use and must not keep msg.
type MetaHandler interface {
	// ClientWriteMeta fills msg.Meta of an outgoing request from ctx.
	ClientWriteMeta(ctx context.Context, msg *codec.Message)
	// ClientReadMeta applies the metadata of a reply to ctx (for example
	// backward values) and returns the business error it carries, if any.
	ClientReadMeta(ctx context.Context, msg *codec.Message) error
	// ServerReadMeta applies the metadata of an incoming request and
	// returns the context the handler runs with (for example with the
	// caller's deadline) and a function to release it, which may be nil.
	ServerReadMeta(ctx context.Context, msg *codec.Message) (context.Context, context.CancelFunc)
	// ServerWriteMeta fills msg.Meta of the reply to a call handled with
	// ctx. err is the handler's error; a business error the protocol can
	// carry is written here and the reply is then sent as a normal reply.
	ServerWriteMeta(ctx context.Context, msg *codec.Message, err error) (carried bool)
}

// OutOfOrderCarrier is an optional capability of a Protocol whose frames
// carry codec.Message.OutOfOrder (TTHeader's flag 0x0001): a client on
// such a protocol offers to take replies in any order, and multiplexes its
// calls to a server whose replies say it serves them so.
type OutOfOrderCarrier interface {
	// CarriesOutOfOrder reports whether the protocol carries the flag.
	CarriesOutOfOrder() bool
}

// ChainMeta returns a MetaHandler that runs hs in order (and ServerReadMeta
// contexts nested in that order). Nil entries are skipped; with none left
// it returns nil. A business error is carried if any handler carries it;
// the first error ClientReadMeta returns wins.
func ChainMeta(hs ...MetaHandler) MetaHandler {
	var out metaChain
	for _, h := range hs {
		if h != nil {
			out = append(out, h)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

type metaChain []MetaHandler

func (c metaChain) ClientWriteMeta(ctx context.Context, msg *codec.Message) {
	for _, h := range c {
		h.ClientWriteMeta(ctx, msg)
	}
}

func (c metaChain) ClientReadMeta(ctx context.Context, msg *codec.Message) error {
	var first error
	for _, h := range c {
		if err := h.ClientReadMeta(ctx, msg); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (c metaChain) ServerReadMeta(ctx context.Context, msg *codec.Message) (context.Context, context.CancelFunc) {
	var cancels []context.CancelFunc
	for _, h := range c {
		var cancel context.CancelFunc
		ctx, cancel = h.ServerReadMeta(ctx, msg)
		if cancel != nil {
			cancels = append(cancels, cancel)
		}
	}
	if len(cancels) == 0 {
		return ctx, nil
	}
	return ctx, func() {
		for i := len(cancels) - 1; i >= 0; i-- {
			cancels[i]()
		}
	}
}

func (c metaChain) ServerWriteMeta(ctx context.Context, msg *codec.Message, err error) bool {
	carried := false
	for _, h := range c {
		if h.ServerWriteMeta(ctx, msg, err) {
			carried = true
		}
	}
	return carried
}
