package generic

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
)

// ProtoIDL is a set of .proto files compiled at run time, with the files
// they import (the well-known types are built in). It is immutable and
// safe for concurrent use.
type ProtoIDL struct {
	services map[string]protoreflect.ServiceDescriptor // by full name
	types    *dynamicpb.Types
}

// LoadProtoFiles compiles the .proto files named by files (import names,
// such as "greeter/v1/greeter.proto"), looked up with their imports under
// importPaths ("." when none). A malformed file gives an error of the form
// "file:line:col: message".
func LoadProtoFiles(importPaths []string, files ...string) (*ProtoIDL, error) {
	if len(importPaths) == 0 {
		importPaths = []string{"."}
	}
	return compileProto(&protocompile.SourceResolver{ImportPaths: importPaths}, files)
}

// ParseProto compiles .proto files held in memory: sources maps import
// names to contents, and files names those to compile (the others are
// imports). A malformed file gives an error of the form
// "file:line:col: message".
func ParseProto(sources map[string]string, files ...string) (*ProtoIDL, error) {
	return compileProto(&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(sources)}, files)
}

func compileProto(r protocompile.Resolver, files []string) (*ProtoIDL, error) {
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(r)}
	res, err := c.Compile(context.Background(), files...)
	if err != nil {
		return nil, fmt.Errorf("generic: %w", err)
	}
	reg := &protoregistry.Files{}
	var add func(fd protoreflect.FileDescriptor) error
	add = func(fd protoreflect.FileDescriptor) error {
		if _, err := reg.FindFileByPath(fd.Path()); err == nil {
			return nil
		}
		imps := fd.Imports()
		for i := range imps.Len() {
			if err := add(imps.Get(i).FileDescriptor); err != nil {
				return err
			}
		}
		return reg.RegisterFile(fd)
	}
	idl := &ProtoIDL{services: map[string]protoreflect.ServiceDescriptor{}}
	for _, f := range res {
		if err := add(f); err != nil {
			return nil, fmt.Errorf("generic: %w", err)
		}
		svcs := f.Services()
		for i := range svcs.Len() {
			s := svcs.Get(i)
			idl.services[string(s.FullName())] = s
		}
	}
	idl.types = dynamicpb.NewTypes(reg)
	return idl, nil
}

// Services returns the full names of the services the compiled files
// (not their imports) declare, sorted.
func (p *ProtoIDL) Services() []string {
	out := make([]string, 0, len(p.services))
	for n := range p.services {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (p *ProtoIDL) service(name string) (protoreflect.ServiceDescriptor, error) {
	if s := p.services[name]; s != nil {
		return s, nil
	}
	if !strings.Contains(name, ".") {
		// A bare name, if it is unique.
		var found protoreflect.ServiceDescriptor
		for _, s := range p.services {
			if string(s.Name()) == name {
				if found != nil {
					return nil, fmt.Errorf("generic: service name %q is ambiguous: give the full name", name)
				}
				found = s
			}
		}
		if found != nil {
			return found, nil
		}
	}
	return nil, fmt.Errorf("generic: no service %q in the .proto files (they have %s)", name, strings.Join(p.Services(), ", "))
}

// ProtoJSONOption configures ProtobufJSON.
type ProtoJSONOption func(*protoJSONOptions)

type protoJSONOptions struct {
	marshal   protojson.MarshalOptions
	unmarshal protojson.UnmarshalOptions
}

// WithProtoJSONMarshal sets the protojson options responses are written
// with (on a server: the options requests are handed to the handler
// with). The default is protojson's: proto field names in lowerCamelCase
// JSON names, unpopulated fields left out, enums by name, 64-bit integers
// as strings. The Resolver is always the IDL's types.
func WithProtoJSONMarshal(o protojson.MarshalOptions) ProtoJSONOption {
	return func(p *protoJSONOptions) { p.marshal = o }
}

// WithDiscardUnknown ignores JSON fields the message does not declare,
// instead of failing the call.
func WithDiscardUnknown() ProtoJSONOption {
	return func(p *protoJSONOptions) { p.unmarshal.DiscardUnknown = true }
}

// ProtobufBinary is binary generic for protobuf (Kitex Protobuf or gRPC):
// requests and responses are the encoded messages, passed through. idl is
// optional on a client (then the service name passed to NewClient is its
// full name "package.Service"); a generic server needs it.
func ProtobufBinary(idl *ProtoIDL) *Generic {
	return &Generic{name: "protobuf binary", codec: "protobuf", proto: idl}
}

// ProtobufJSON is JSON generic for protobuf: requests and responses are
// the protojson form of the messages (string or []byte in, string out),
// converted through dynamicpb messages built from idl. Well-known types,
// oneofs, maps, enums and 64-bit integers map as protojson maps them.
func ProtobufJSON(idl *ProtoIDL, opts ...ProtoJSONOption) *Generic {
	o := &protoJSONOptions{}
	for _, f := range opts {
		f(o)
	}
	o.marshal.Resolver = idl.types
	o.unmarshal.Resolver = idl.types
	return &Generic{name: "protobuf JSON", codec: "protobuf", proto: idl, pjson: o}
}

func (g *Generic) protoMethod(serviceName, method string) (protoreflect.MethodDescriptor, error) {
	sd, err := g.proto.service(serviceName)
	if err != nil {
		return nil, err
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return nil, status.Errorf(status.Unimplemented, "generic: service %s has no method %s", sd.FullName(), method)
	}
	return md, nil
}

// jsonToMessage converts JSON text to the encoded message of type md.
func (o *protoJSONOptions) jsonToMessage(md protoreflect.MessageDescriptor, v any) ([]byte, error) {
	src, err := jsonText(v)
	if err != nil {
		return nil, err
	}
	m := dynamicpb.NewMessage(md)
	if len(src) > 0 {
		if err := o.unmarshal.Unmarshal(src, m); err != nil {
			return nil, &Error{Path: string(md.FullName()), Msg: strings.TrimPrefix(err.Error(), "proto: ")}
		}
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, &Error{Path: string(md.FullName()), Msg: strings.TrimPrefix(err.Error(), "proto: ")}
	}
	return b, nil
}

// messageToJSON converts an encoded message of type md to JSON text.
func (o *protoJSONOptions) messageToJSON(md protoreflect.MessageDescriptor, b []byte) (string, error) {
	m := dynamicpb.NewMessage(md)
	if err := (proto.UnmarshalOptions{Resolver: o.unmarshal.Resolver}).Unmarshal(b, m); err != nil {
		return "", &Error{Path: string(md.FullName()), Msg: err.Error()}
	}
	out, err := o.marshal.Marshal(m)
	if err != nil {
		return "", &Error{Path: string(md.FullName()), Msg: err.Error()}
	}
	return string(out), nil
}

func (c *Client) callProtoJSON(ctx context.Context, method string, req any, opts []client.CallOption) (any, error) {
	md, err := c.g.protoMethod(c.name, method)
	if err != nil {
		return nil, err
	}
	if md.IsStreamingClient() || md.IsStreamingServer() {
		return nil, status.Errorf(status.InvalidArgument, "generic: %s is a streaming method: use NewStream", method)
	}
	in, err := c.g.pjson.jsonToMessage(md.Input(), req)
	if err != nil {
		return nil, err
	}
	var out codec.Raw
	if err := c.cli.Call(ctx, method, codec.Raw(in), &out, opts...); err != nil {
		return nil, err
	}
	return c.g.pjson.messageToJSON(md.Output(), out)
}

// protoHandlers sets the handlers of info's unary methods.
func (g *Generic) protoHandlers(serviceName string, info *service.Info) error {
	for name, mi := range info.Methods {
		md, err := g.protoMethod(serviceName, name)
		if err != nil {
			return err
		}
		if mi.StreamingMode != service.StreamingNone {
			if g.pjson == nil {
				return fmt.Errorf("generic: method %s streams: a binary protobuf server serves unary methods only", name)
			}
			mi.Handler = protoStreamHandler(g, md)
			continue
		}
		mi.Handler = protoHandler(g, md)
	}
	return nil
}

func protoHandler(g *Generic, md protoreflect.MethodDescriptor) service.Handler {
	name := string(md.Name())
	return func(ctx context.Context, impl, args, result any) error {
		h := impl.(*handlerImpl).h
		in := *args.(*codec.Raw)
		var req any = []byte(in)
		if g.pjson != nil {
			s, err := g.pjson.messageToJSON(md.Input(), in)
			if err != nil {
				return status.Errorf(status.InvalidArgument, "%v", err)
			}
			req = s
		}
		resp, err := h(ctx, name, req)
		if err != nil {
			var x *ExceptionError
			if errors.As(err, &x) {
				return status.Errorf(status.Internal, "generic: protobuf methods have no declared exceptions (%s raised %s)", name, x.Name)
			}
			return err
		}
		out := result.(*codec.Raw)
		if g.pjson == nil {
			b, ok := resp.([]byte)
			if !ok {
				return status.Errorf(status.Internal, "generic: a binary handler must return the []byte of the response message, not %T", resp)
			}
			*out = b
			return nil
		}
		b, err := g.pjson.jsonToMessage(md.Output(), resp)
		if err != nil {
			return status.Errorf(status.Internal, "generic: %s: response: %v", name, err)
		}
		*out = b
		return nil
	}
}
