package stream

import (
	"context"

	"github.com/skiffrpc/skiff/core/service"
)

// Codec is a message protocol over raw streams, such as gRPC. It is safe
// for concurrent use.
type Codec interface {
	// Name is the registry name, such as "grpc".
	Name() string
	// Detect reports whether a request header block belongs to this codec
	// (gRPC: a content-type of application/grpc or application/grpc+...).
	Detect(h Header) bool
	// ServeStream serves one raw stream: it reads the request header,
	// finds the method with d, runs it with d.Invoke and writes the
	// response. It ends s (Close or Reset) before it returns.
	ServeStream(s RawServerStream, d Dispatcher)
	// NewClientStream opens a message stream for method of svc on cc.
	// ctx is the call's context: callinfo.From(ctx) describes the call
	// (caller, timeout, metadata), and the stream ends when ctx ends.
	NewClientStream(ctx context.Context, cc ClientConn, svc *service.Info, method string) (ClientStream, error)
}

// ProtocolMatcher is an optional capability of a [Codec] that names the
// stream protocols it is the default codec of: a client given a stream
// transport but no stream codec takes the first registered codec whose
// ForProtocol accepts the transport's name (codec-grpc: "http2";
// codec-thrift's TTStream: "ttstream").
type ProtocolMatcher interface {
	ForProtocol(protocol string) bool
}

// UnaryCaller is an optional capability of a [Codec] with a faster path
// for unary calls than a message stream.
type UnaryCaller interface {
	// Unary sends args as the one request message and decodes the one
	// response message into result. Errors are *status.Error values; a
	// business error arrives as the error, not inside result.
	Unary(ctx context.Context, cc ClientConn, svc *service.Info, method string, args, result any) error
}

// Method is a method a [Dispatcher] found.
type Method struct {
	// Service is the service the method belongs to.
	Service *service.Info
	// Info describes the method.
	Info *service.MethodInfo
}

// Dispatcher is the server runtime as a stream [Codec] sees it. core/server
// gives one per connection.
type Dispatcher interface {
	// Lookup finds a method by service and method name. svc is matched
	// against a service's full name (service.Info.FullName, as in a gRPC
	// path) or its bare name. The error is a *status.Error with code
	// Unimplemented that says whether the service or the method is unknown.
	//
	// A server with an unknown-method handler
	// (server.WithUnknownMethodHandler) instead returns, to codecs that
	// carry raw payloads (codec.RawCarrier), a unary method named as
	// requested whose NewArgs and NewResult return *codec.Raw values.
	Lookup(svc, method string) (*Method, error)
	// Start begins a call of m: it attaches a new callinfo.Info to ctx
	// (service, method, peer, transport), starts the server's tracers and
	// returns the call's context. ctx is prepared by the codec (deadline,
	// metainfo). The codec then records what it reads on the Info (the
	// request metadata in Info.Request, Stats.RecvSize), passes the context
	// to Invoke, writes the response with the metadata in Info.Response,
	// records Stats.SendSize, and ends the call with Finish.
	Start(ctx context.Context, m *Method) context.Context
	// Invoke runs the server's middleware and the method's handler with
	// ctx, a context Start returned (given another context, Invoke starts
	// and finishes the call itself). For unary methods args and result come
	// from the method's NewArgs and NewResult; for streaming methods args
	// is the [ServerStream] and result is nil. A handler panic is returned
	// as an error.
	Invoke(ctx context.Context, m *Method, args, result any) error
	// Finish ends the call Start began, once its response (status and
	// trailers included) is written: err is the outcome the client was
	// sent (nil for OK). The server's tracers finish.
	Finish(ctx context.Context, err error)
}

// StartPreparer is an optional capability of a [Dispatcher] (the Skiff
// server has it): StartPrepared is Start with p.PrepareCall run on the
// call's new context (its callinfo.Info attached) before the server's
// tracers start, so what a codec fills in there (request metadata such as
// the caller's trace context, the codec name) is seen by the tracers.
type StartPreparer interface {
	StartPrepared(ctx context.Context, m *Method, p CallPreparer) context.Context
}

// CallPreparer fills in a new call's Info (found with callinfo.From(ctx))
// for [StartPreparer].
type CallPreparer interface {
	PrepareCall(ctx context.Context)
}
