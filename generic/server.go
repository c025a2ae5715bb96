package generic

import (
	"context"
	"errors"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
)

// Handler serves every method of a generic service. req and the returned
// response are in the forms of the service's Generic (see Client.Call):
// []byte for binary, Go values for map, JSON text for JSON (the response
// may be a string or []byte). For a oneway method the response is ignored.
//
// To reply with a declared exception, return an *ExceptionError whose Name
// is the exception's field in the throws clause and whose Value is the
// exception in the same form (map generic: map[string]any; JSON generic:
// JSON text). Any other error reaches the client as for a typed handler
// (a status error keeps its code).
type Handler func(ctx context.Context, method string, req any) (any, error)

func newRaw() any { return new(codec.Raw) }

// handlerImpl is the implementation a generic service registers.
type handlerImpl struct {
	h       Handler
	streams StreamHandler
}

// NewServiceInfo returns the descriptor of a generic service serving the
// named service of g's IDL with h, to register with
// server.RegisterService(info, impl). For Thrift, service is the IDL
// service name ("" for the main file's first service); for protobuf, its
// full name "package.Service". The Generic must have an IDL (ThriftBinary
// with a non-nil IDL, ThriftMap, ThriftJSON, ProtobufBinary with files, or
// ProtobufJSON). Streaming protobuf methods are served by NewServiceInfo
// only with ProtobufJSON (see StreamHandler).
func NewServiceInfo(serviceName string, g *Generic, h Handler, opts ...ServiceOption) (*service.Info, any, error) {
	if h == nil {
		return nil, nil, errors.New("generic: nil handler")
	}
	if g == nil || g.thrift == nil && g.proto == nil {
		return nil, nil, errors.New("generic: a generic server needs a Generic with an IDL")
	}
	if g.http != nil {
		return nil, nil, errors.New("generic: HTTP generic serves clients only")
	}
	info, err := g.serviceInfo(serviceName)
	if err != nil {
		return nil, nil, err
	}
	impl := &handlerImpl{h: h}
	for _, o := range opts {
		o(impl)
	}
	if g.thrift != nil {
		svc, _ := g.thrift.service(serviceName)
		for name, mi := range info.Methods {
			mi.Handler = thriftHandler(g, svc.methods[name])
		}
		return info, impl, nil
	}
	if err := g.protoHandlers(serviceName, info); err != nil {
		return nil, nil, err
	}
	return info, impl, nil
}

// RegisterService registers with svr a generic service serving the named
// service of g's IDL with h (see NewServiceInfo).
func RegisterService(svr *server.Server, serviceName string, g *Generic, h Handler, opts ...ServiceOption) error {
	info, impl, err := NewServiceInfo(serviceName, g, h, opts...)
	if err != nil {
		return err
	}
	return svr.RegisterService(info, impl)
}

func thriftHandler(g *Generic, m *methodDesc) service.Handler {
	return func(ctx context.Context, impl, args, result any) error {
		h := impl.(*handlerImpl).h
		in := *args.(*codec.Raw)
		var req any = []byte(in)
		if g.form != nil {
			var err error
			if req, err = g.form.decodeArgs(m, in); err != nil {
				return status.Errorf(status.InvalidArgument, "%v", err)
			}
		}
		resp, herr := h(ctx, m.name, req)
		if m.oneway {
			return herr
		}
		out := result.(*codec.Raw)
		var x *ExceptionError
		if herr != nil {
			if !errors.As(herr, &x) {
				return herr
			}
			fd := m.result.byName[x.Name]
			if fd == nil || fd.id == 0 {
				return status.Errorf(status.Internal, "generic: %s raised %q, which is not in its throws clause", m.name, x.Name)
			}
			if g.form == nil {
				b, ok := x.Value.([]byte)
				if !ok {
					return status.Errorf(status.Internal, "generic: a binary exception's Value must be the []byte of the result struct")
				}
				*out = b
				return status.Declared(herr)
			}
			b, err := g.form.encodeException(m, fd, x, nil)
			if err != nil {
				return status.Errorf(status.Internal, "generic: %s: exception: %v", m.name, err)
			}
			*out = b
			return status.Declared(herr)
		}
		if g.form == nil {
			b, ok := resp.([]byte)
			if !ok {
				return status.Errorf(status.Internal, "generic: a binary handler must return the []byte of the result struct, not %T", resp)
			}
			*out = b
			return nil
		}
		b, err := g.form.encodeResult(m, resp, nil)
		if err != nil {
			return status.Errorf(status.Internal, "generic: %s: response: %v", m.name, err)
		}
		*out = b
		return nil
	}
}

// Forward returns an unknown-method handler (server.WithUnknownMethodHandler)
// that forwards every call it gets, payload unchanged, to the service of
// the binary generic client c, and replies with the reply's payload
// unchanged: a binary proxy. Declared exceptions pass inside the payload;
// errors (status errors with their codes) pass as errors. Oneway calls are
// forwarded only when c's IDL declares the method oneway (ThriftBinary with
// an IDL); otherwise they are dropped with an error the middleware sees.
func Forward(c *Client, opts ...client.CallOption) server.UnknownMethodHandler {
	return func(ctx context.Context, _, method string, req []byte) ([]byte, error) {
		if ci := callinfo.From(ctx); ci != nil && ci.Oneway && !c.oneway(method) {
			// A two-way call of a oneway method would wait for a reply that
			// never comes.
			return nil, status.Errorf(status.Unimplemented, "generic: cannot forward oneway call %s: the forwarding client's IDL does not declare it oneway", method)
		}
		var out codec.Raw
		if err := c.cli.Call(ctx, method, codec.Raw(req), &out, opts...); err != nil {
			return nil, err
		}
		return out, nil
	}
}
