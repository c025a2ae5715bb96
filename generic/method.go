package generic

import (
	"errors"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Method converts the requests and responses of one method between a
// Generic's form (map or JSON) and the payloads on the wire (Thrift args
// and result structs, protobuf messages), without calling anything: for
// tools, tests and proxies that transform payloads. It is safe for
// concurrent use.
type Method struct {
	g  *Generic
	m  *methodDesc                   // Thrift
	md protoreflect.MethodDescriptor // protobuf
}

// Method returns the converter of one method of the named service (see
// NewClient for the service name). g must be ThriftMap, ThriftJSON or
// ProtobufJSON.
func (g *Generic) Method(serviceName, method string) (*Method, error) {
	switch {
	case g.form != nil && g.http == nil:
		svc, err := g.thrift.service(serviceName)
		if err != nil {
			return nil, err
		}
		m := svc.methods[method]
		if m == nil {
			return nil, errors.New("generic: service " + svc.name + " has no method " + method)
		}
		return &Method{g: g, m: m}, nil
	case g.pjson != nil:
		md, err := g.protoMethod(serviceName, method)
		if err != nil {
			return nil, err
		}
		return &Method{g: g, md: md}, nil
	}
	return nil, errors.New("generic: " + g.name + " has no conversions")
}

// Oneway reports whether the method is a Thrift oneway method.
func (m *Method) Oneway() bool { return m.m != nil && m.m.oneway }

// EncodeRequest appends to buf the payload of the request req: the args
// struct (Thrift) or the request message (protobuf).
func (m *Method) EncodeRequest(buf []byte, req any) ([]byte, error) {
	if m.m != nil {
		return m.g.form.encodeArgs(m.m, req, buf)
	}
	b, err := m.g.pjson.jsonToMessage(m.md.Input(), req)
	return append(buf, b...), err
}

// DecodeRequest returns the request held in payload.
func (m *Method) DecodeRequest(payload []byte) (any, error) {
	if m.m != nil {
		return m.g.form.decodeArgs(m.m, payload)
	}
	return m.g.pjson.messageToJSON(m.md.Input(), payload)
}

// EncodeResponse appends to buf the payload of the response resp: the
// result struct with resp as its success value (Thrift; an
// *ExceptionError as resp encodes the declared exception instead), or the
// response message (protobuf).
func (m *Method) EncodeResponse(buf []byte, resp any) ([]byte, error) {
	if m.m != nil {
		if x, ok := resp.(*ExceptionError); ok {
			fd := m.m.result.byName[x.Name]
			if fd == nil || fd.id == 0 {
				return nil, errors.New("generic: " + m.m.name + " does not throw " + x.Name)
			}
			return m.g.form.encodeException(m.m, fd, x, buf)
		}
		return m.g.form.encodeResult(m.m, resp, buf)
	}
	b, err := m.g.pjson.jsonToMessage(m.md.Output(), resp)
	return append(buf, b...), err
}

// DecodeResponse returns the response held in payload; a declared
// exception is returned as an *ExceptionError.
func (m *Method) DecodeResponse(payload []byte) (any, error) {
	if m.m != nil {
		return m.g.form.decodeResult(m.m, payload)
	}
	return m.g.pjson.messageToJSON(m.md.Output(), payload)
}
