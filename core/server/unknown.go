package server

import (
	"context"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/stream"
)

// UnknownMethodHandler serves a call no registered service has a method
// for: generic servers, proxies, gateways. req is the raw request payload,
// the bytes after the message envelope (for Thrift, the method's args
// struct; for Kitex Protobuf and gRPC, the request message). It returns the
// raw reply payload (for Thrift, the result struct: field 0 for the
// success value, declared exceptions from field 1; for Kitex Protobuf and
// gRPC, the response message), or an error, which the client gets as an
// exception (a *status.Error keeps its code, as from any handler).
//
// service and method are the names the request carried: service is empty
// when the protocol carries none (Thrift Framed and Buffered; TTHeader
// carries it when the client sets it). ctx carries the call's
// callinfo.Info, with the same Service and Method.
//
// req is a copy that the handler owns and may keep. The returned bytes are
// written verbatim as the reply's payload after the handler returns, and
// must not be modified afterwards; they must be one complete payload (an
// empty reply is a valid empty protobuf message, but not a Thrift struct,
// whose shortest encoding is the stop byte 0x00). For a oneway call the
// reply is ignored.
type UnknownMethodHandler func(ctx context.Context, service, method string, req []byte) ([]byte, error)

// WithUnknownMethodHandler serves calls that no registered service has a
// method for with h, instead of answering with an unknown-method exception
// (gRPC: status UNIMPLEMENTED). The default is none; a nil h turns it off;
// the last call wins.
//
// Such a call runs through the server's middleware and tracers like any
// other, with its callinfo.Info's Service and Method as received; the
// middleware sees the request and the reply as *codec.Raw values. It is
// served on framed transports (Thrift Framed and Buffered, TTHeader) with
// every codec that carries raw payloads (codec.RawCarrier: the Thrift and
// Kitex Protobuf codecs), by an [Invoker], and on stream transports (gRPC)
// with stream codecs that are RawCarriers (codec-grpc), as a unary call:
// one request message, one response message. A call of an unknown method
// with another codec still gets the unknown-method exception. A registered
// streaming method called on a framed transport is not an unknown method:
// it still gets its exception.
func WithUnknownMethodHandler(h UnknownMethodHandler) Option {
	return optionFunc(func(o *options) {
		if h == nil && o.ext == nil {
			return
		}
		o.extensions().unknown = h
	})
}

// unknownMethodInfo describes the method of every call served by the
// unknown-method handler: raw arguments and result.
var unknownMethodInfo = &service.MethodInfo{
	Name:      "(unknown method)",
	NewArgs:   newRaw,
	NewResult: newRaw,
}

func newRaw() any { return new(codec.Raw) }

// unknownMethod returns the entry that serves calls of unknown methods, or
// nil without WithUnknownMethodHandler. The entry is built on first use,
// once every option is applied.
func (s *Server) unknownMethod() *method {
	ext := s.opts.ext
	if ext == nil || ext.unknown == nil {
		return nil
	}
	ext.unknownOnce.Do(func() {
		h := ext.unknown
		inner := func(ctx context.Context, req, resp any) error {
			var svc, name string
			if ci := callinfo.From(ctx); ci != nil {
				svc, name = ci.Service, ci.Method
			}
			in, _ := codec.RawBytes(req)
			out, err := h(ctx, svc, name, in)
			if err != nil {
				return err
			}
			if r, ok := resp.(*codec.Raw); ok && r != nil {
				*r = out
			}
			return nil
		}
		ext.unknownM = &method{info: unknownMethodInfo, ep: endpoint.Build(inner, s.opts.middlewares...)}
	})
	return ext.unknownM
}

// unknownMethodFor returns the unknown-method entry for a request decoded
// by c, or nil when there is none or c cannot carry raw payloads.
func (s *Server) unknownMethodFor(c codec.Codec) *method {
	if s.opts.ext == nil || s.opts.ext.unknown == nil || !codec.CarriesRaw(c) {
		return nil
	}
	return s.unknownMethod()
}

// unknownStreamMarker is the HandlerType of the service of an unknown
// method found on a stream (unknownStream): the dispatcher recognises its
// own stream.Method values by it.
type unknownStreamMarker struct{}

// unknownStream is the stream.Method of one call of an unknown method, in
// one allocation: a stream codec needs a service and a method descriptor
// named as received.
type unknownStream struct {
	sm  stream.Method
	svc service.Info
	mi  service.MethodInfo
}

// unknownStreamMethod returns the stream.Method for a call of method of
// svc that no service has; the dispatcher serves it with unknownMethod.
func unknownStreamMethod(svc, method string) *stream.Method {
	u := &unknownStream{}
	u.svc = service.Info{Name: svc, HandlerType: (*unknownStreamMarker)(nil)}
	u.mi = service.MethodInfo{Name: method, NewArgs: newRaw, NewResult: newRaw}
	u.sm = stream.Method{Service: &u.svc, Info: &u.mi}
	return &u.sm
}

// isUnknownStream reports whether sm came from unknownStreamMethod.
func isUnknownStream(sm *stream.Method) bool {
	if sm == nil || sm.Service == nil {
		return false
	}
	_, ok := sm.Service.HandlerType.(*unknownStreamMarker)
	return ok
}
