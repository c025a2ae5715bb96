package service

import "context"

// StreamingMode is how a method streams. The bit values are Kitex's, so
// descriptors translate one to one.
type StreamingMode uint8

// Streaming modes.
const (
	// StreamingNone is a plain request/response method.
	StreamingNone StreamingMode = 0
	// StreamingUnary is a unary method carried on a streaming transport.
	StreamingUnary StreamingMode = 0b0001
	// StreamingClient: the client sends a stream, the server answers once.
	StreamingClient StreamingMode = 0b0010
	// StreamingServer: the client sends once, the server answers a stream.
	StreamingServer StreamingMode = 0b0100
	// StreamingBidi: both sides stream.
	StreamingBidi StreamingMode = 0b0110
)

// Handler calls the user's implementation impl with args and fills result.
// A returned error becomes an exception reply; declared exceptions are put
// into result by generated code and are not returned.
type Handler func(ctx context.Context, impl any, args, result any) error

// MethodInfo describes one method.
type MethodInfo struct {
	// Name is the method name on the wire.
	Name string
	// Handler calls the implementation. Nil for client-only descriptors.
	Handler Handler
	// NewArgs returns an empty argument value (a pointer).
	NewArgs func() any
	// NewResult returns an empty result value (a pointer). Nil for oneway
	// methods.
	NewResult func() any
	// Oneway is true for methods that get no reply.
	Oneway bool
	// StreamingMode is the streaming mode; StreamingNone for ping-pong.
	StreamingMode StreamingMode
}

// Info describes one service.
type Info struct {
	// Name is the IDL service name, used for routing when a protocol
	// carries it and for discovery.
	Name string
	// Package is the IDL package (protobuf package, or the Thrift
	// namespace a gRPC path uses); "" when none. A gRPC path is
	// "/" + FullName() + "/" + method.
	Package string
	// HandlerType is a nil pointer to the interface the implementation must
	// satisfy, such as (*echo.EchoService)(nil), or to the type the
	// implementation must be a pointer to, such as (*health.Server)(nil);
	// optional. When it is set, server.RegisterService rejects an
	// implementation that does not fit it.
	HandlerType any
	// Methods maps method names to descriptors.
	Methods map[string]*MethodInfo
	// Codec names the message codec that serves this service by default on
	// the client, such as "thrift".
	Codec string
	// Extra holds generator-specific facts, such as the IDL package name.
	Extra map[string]any
}

// FullName returns Package + "." + Name, or Name when Package is empty.
func (s *Info) FullName() string {
	if s.Package == "" {
		return s.Name
	}
	return s.Package + "." + s.Name
}

// Method returns the descriptor of the named method, or nil.
func (s *Info) Method(name string) *MethodInfo { return s.Methods[name] }

// Recycler is an optional capability of argument and result values that
// can be reused. The server calls Recycle once the reply has been encoded
// (for a oneway call, once the handler has returned); Recycle must reset
// the value and may return it to a pool that NewArgs or NewResult draws
// from. Only the wrapper is recycled: values the handler received through
// it (such as a request struct) stay the handler's.
type Recycler interface {
	Recycle()
}
