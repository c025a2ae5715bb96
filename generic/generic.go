package generic

import (
	"fmt"
	"strings"

	"github.com/skiffrpc/skiff/core/service"
)

// form converts between one generic request/response form and Thrift
// args and result structs.
type form interface {
	encodeArgs(m *methodDesc, req any, buf []byte) ([]byte, error)
	decodeResult(m *methodDesc, raw []byte) (any, error)
	decodeArgs(m *methodDesc, raw []byte) (any, error)
	encodeResult(m *methodDesc, resp any, buf []byte) ([]byte, error)
	encodeException(m *methodDesc, fd *fieldDesc, x *ExceptionError, buf []byte) ([]byte, error)
}

// Generic says how a generic client or server sees the payloads of a
// service: as bytes, as Go maps or as JSON, for Thrift or protobuf. Build
// one with ThriftBinary, ThriftMap, ThriftJSON, ProtobufBinary or
// ProtobufJSON. A Generic is immutable and may be shared by any number of
// clients and servers.
type Generic struct {
	name   string // for messages: "Thrift binary", ...
	codec  string // the service.Info codec: "thrift" or "protobuf"
	thrift *ThriftIDL
	form   form // Thrift map and JSON; nil for binary
	proto  *ProtoIDL
	pjson  *protoJSONOptions // protobuf JSON; nil for binary
	http   *httpForm         // Thrift HTTP
}

// String names the generic kind, such as "Thrift JSON".
func (g *Generic) String() string { return g.name }

// ThriftBinary is binary generic for Thrift: requests are the bytes of a
// method's args struct and responses the bytes of its result struct (field
// 0 the success value, declared exceptions from field 1), in Thrift
// Binary, passed through undecoded. idl is optional on a client: with it,
// oneway methods are sent as oneway; without it every method is two-way.
// A generic server (NewServiceInfo) needs it to know the methods.
func ThriftBinary(idl *ThriftIDL) *Generic {
	return &Generic{name: "Thrift binary", codec: "thrift", thrift: idl}
}

// ThriftMap is map generic for Thrift: a request is the method's one
// argument as a Go value (a struct as a map[string]any keyed by field
// name), or, for a method of zero or several arguments, a map[string]any
// keyed by argument name; a response is the success value (nil for a void
// method). See the package documentation for the Go type of each Thrift
// type.
func ThriftMap(idl *ThriftIDL) *Generic {
	return &Generic{name: "Thrift map", codec: "thrift", thrift: idl, form: mapForm{}}
}

// ThriftJSON is JSON generic for Thrift: a request is the JSON text
// (string or []byte) of the method's one argument, or, for a method of
// zero or several arguments, of an object keyed by argument name; a
// response is the JSON text (string) of the success value ("" for a void
// method). JSON is converted to and from the Thrift wire format directly,
// with no value in between. See the package documentation for the mapping.
func ThriftJSON(idl *ThriftIDL, opts ...JSONOption) *Generic {
	f := &jsonForm{}
	for _, o := range opts {
		o(&f.opts)
	}
	return &Generic{name: "Thrift JSON", codec: "thrift", thrift: idl, form: f}
}

// serviceInfo returns the service descriptor of the named service, with
// its methods when the IDL is known (not their handlers).
func (g *Generic) serviceInfo(name string) (*service.Info, error) {
	if g == nil {
		return nil, fmt.Errorf("generic: nil Generic")
	}
	info := &service.Info{Name: name, Codec: g.codec, Methods: map[string]*service.MethodInfo{}}
	switch {
	case g.thrift != nil:
		svc, err := g.thrift.service(name)
		if err != nil {
			return nil, err
		}
		info.Name = svc.name
		for n, m := range svc.methods {
			info.Methods[n] = &service.MethodInfo{Name: n, Oneway: m.oneway, NewArgs: newRaw, NewResult: newRaw}
		}
	case g.proto != nil:
		sd, err := g.proto.service(name)
		if err != nil {
			return nil, err
		}
		info.Name = string(sd.Name())
		info.Package = string(sd.ParentFile().Package())
		methods := sd.Methods()
		for i := range methods.Len() {
			md := methods.Get(i)
			mi := &service.MethodInfo{Name: string(md.Name()), NewArgs: newRaw, NewResult: newRaw}
			switch {
			case md.IsStreamingClient() && md.IsStreamingServer():
				mi.StreamingMode = service.StreamingBidi
			case md.IsStreamingClient():
				mi.StreamingMode = service.StreamingClient
			case md.IsStreamingServer():
				mi.StreamingMode = service.StreamingServer
			}
			info.Methods[mi.Name] = mi
		}
	case g.codec == "protobuf":
		// Binary protobuf without descriptors: "pkg.Service" names the
		// gRPC path.
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			info.Package, info.Name = name[:i], name[i+1:]
		}
	}
	return info, nil
}
