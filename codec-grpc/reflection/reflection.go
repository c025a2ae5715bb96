package reflection

import (
	"context"
	"io"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// Options configures a [Server].
type Options struct {
	// Services lists the full names of the services to report (such as
	// "grpc.testing.TestService"); nil reports every service of Files.
	Services []string
	// Files resolves file names and symbols; nil means
	// protoregistry.GlobalFiles.
	Files *protoregistry.Files
	// Types resolves extensions; nil means protoregistry.GlobalTypes.
	Types *protoregistry.Types
}

// Server answers reflection requests. It is safe for concurrent use.
type Server struct {
	services []string
	files    *protoregistry.Files
	types    *protoregistry.Types
}

// NewServer returns a reflection server with options o.
func NewServer(o Options) *Server {
	s := &Server{services: o.Services, files: o.Files, types: o.Types}
	if s.files == nil {
		s.files = protoregistry.GlobalFiles
	}
	if s.types == nil {
		s.types = protoregistry.GlobalTypes
	}
	return s
}

// ServicesOf returns the full names of services, for Options.Services.
func ServicesOf(infos ...*service.Info) []string {
	out := make([]string, len(infos))
	for i, in := range infos {
		out[i] = in.FullName()
	}
	return out
}

// Request is a ServerReflectionRequest.
type Request struct {
	// Host is the request's host field.
	Host string
	// Kind is the field number of the request's message_request case:
	// 3 file_by_filename, 4 file_containing_symbol, 5
	// file_containing_extension, 6 all_extension_numbers_of_type, 7
	// list_services.
	Kind protowire.Number
	// Name is the file name, symbol, or message type of the request.
	Name string
	// ExtensionNumber is the number of a file_containing_extension
	// request.
	ExtensionNumber int32
	raw             []byte
}

// UnmarshalGRPC decodes a ServerReflectionRequest.
func (r *Request) UnmarshalGRPC(b []byte) error {
	*r = Request{raw: append([]byte(nil), b...)}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return bad(n)
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return bad(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return bad(n)
		}
		b = b[n:]
		switch num {
		case 1:
			r.Host = string(v)
		case 3, 4, 6, 7:
			r.Kind, r.Name = num, string(v)
		case 5:
			r.Kind = num
			if err := r.parseExtensionRequest(v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Request) parseExtensionRequest(b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return bad(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return bad(n)
			}
			r.Name, b = string(v), b[n:]
		case num == 2 && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return bad(n)
			}
			r.ExtensionNumber, b = int32(x), b[n:]
		default:
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return bad(n)
			}
			b = b[n:]
		}
	}
	return nil
}

// AppendGRPC encodes the request (for clients of the service).
func (r *Request) AppendGRPC(dst []byte) ([]byte, error) {
	if r.Host != "" {
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendString(dst, r.Host)
	}
	switch r.Kind {
	case 5:
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, r.Name)
		e = protowire.AppendTag(e, 2, protowire.VarintType)
		e = protowire.AppendVarint(e, uint64(r.ExtensionNumber))
		dst = protowire.AppendTag(dst, 5, protowire.BytesType)
		dst = protowire.AppendBytes(dst, e)
	case 3, 4, 6, 7:
		dst = protowire.AppendTag(dst, r.Kind, protowire.BytesType)
		dst = protowire.AppendString(dst, r.Name)
	}
	return dst, nil
}

func bad(n int) error {
	return status.Errorf(status.InvalidArgument, "reflection: bad request: %v", protowire.ParseError(n))
}

// Response is an encoded ServerReflectionResponse.
type Response struct {
	// Raw is the encoded message.
	Raw []byte
}

// AppendGRPC appends the encoded response.
func (r *Response) AppendGRPC(dst []byte) ([]byte, error) { return append(dst, r.Raw...), nil }

// UnmarshalGRPC keeps a copy of the encoded response.
func (r *Response) UnmarshalGRPC(b []byte) error {
	r.Raw = append(r.Raw[:0], b...)
	return nil
}

var (
	_ grpccodec.Unmarshaler = (*Request)(nil)
	_ grpccodec.Marshaler   = (*Request)(nil)
	_ grpccodec.Marshaler   = (*Response)(nil)
	_ grpccodec.Unmarshaler = (*Response)(nil)
)

// Info serves one ServerReflectionInfo stream: it answers each request
// until the client ends its side.
func (s *Server) Info(ss stream.ServerStream) error {
	sent := map[string]bool{} // files already sent on this stream
	for {
		var req Request
		if err := ss.RecvMsg(&req); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		res := s.answer(&req, sent)
		if err := ss.SendMsg(&Response{Raw: res}); err != nil {
			return err
		}
	}
}

// answer builds the response to req.
func (s *Server) answer(req *Request, sent map[string]bool) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, req.Host)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, req.raw)
	switch req.Kind {
	case 3:
		fd, err := s.findFile(req.Name)
		if err != nil {
			return appendError(b, status.NotFound, "file not found: "+req.Name)
		}
		return s.appendFiles(b, fd, sent)
	case 4:
		fd, err := s.findSymbolFile(req.Name)
		if err != nil {
			return appendError(b, status.NotFound, "symbol not found: "+req.Name)
		}
		return s.appendFiles(b, fd, sent)
	case 5:
		xt, err := s.types.FindExtensionByNumber(protoreflect.FullName(req.Name), protoreflect.FieldNumber(req.ExtensionNumber))
		if err != nil {
			return appendError(b, status.NotFound, "extension not found")
		}
		return s.appendFiles(b, xt.TypeDescriptor().ParentFile(), sent)
	case 6:
		if _, err := s.findSymbolFile(req.Name); err != nil {
			return appendError(b, status.NotFound, "message type not found: "+req.Name)
		}
		var nums []int32
		s.types.RangeExtensionsByMessage(protoreflect.FullName(req.Name), func(xt protoreflect.ExtensionType) bool {
			nums = append(nums, int32(xt.TypeDescriptor().Number()))
			return true
		})
		sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, req.Name)
		if len(nums) > 0 {
			var packed []byte
			for _, n := range nums {
				packed = protowire.AppendVarint(packed, uint64(n))
			}
			e = protowire.AppendTag(e, 2, protowire.BytesType)
			e = protowire.AppendBytes(e, packed)
		}
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		return protowire.AppendBytes(b, e)
	case 7:
		var l []byte
		for _, name := range s.listServices() {
			var sr []byte
			sr = protowire.AppendTag(sr, 1, protowire.BytesType)
			sr = protowire.AppendString(sr, name)
			l = protowire.AppendTag(l, 1, protowire.BytesType)
			l = protowire.AppendBytes(l, sr)
		}
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		return protowire.AppendBytes(b, l)
	}
	return appendError(b, status.Unimplemented, "unknown reflection request")
}

func appendError(b []byte, code status.Code, msg string) []byte {
	var e []byte
	e = protowire.AppendTag(e, 1, protowire.VarintType)
	e = protowire.AppendVarint(e, uint64(code))
	e = protowire.AppendTag(e, 2, protowire.BytesType)
	e = protowire.AppendString(e, msg)
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	return protowire.AppendBytes(b, e)
}

// appendFiles appends a FileDescriptorResponse with fd and the files it
// imports, transitively, that were not sent on this stream before (fd
// itself always).
func (s *Server) appendFiles(b []byte, fd protoreflect.FileDescriptor, sent map[string]bool) []byte {
	var files []byte
	var add func(f protoreflect.FileDescriptor, force bool)
	add = func(f protoreflect.FileDescriptor, force bool) {
		if sent[f.Path()] && !force {
			return
		}
		sent[f.Path()] = true
		raw, err := proto.Marshal(protodesc.ToFileDescriptorProto(f))
		if err != nil {
			return
		}
		files = protowire.AppendTag(files, 1, protowire.BytesType)
		files = protowire.AppendBytes(files, raw)
		imps := f.Imports()
		for i := 0; i < imps.Len(); i++ {
			add(imps.Get(i).FileDescriptor, false)
		}
	}
	add(fd, true)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	return protowire.AppendBytes(b, files)
}

func (s *Server) findFile(name string) (protoreflect.FileDescriptor, error) {
	if fd, err := builtin().FindFileByPath(name); err == nil {
		return fd, nil
	}
	return s.files.FindFileByPath(name)
}

func (s *Server) findSymbolFile(name string) (protoreflect.FileDescriptor, error) {
	name = strings.TrimPrefix(name, ".")
	if d, err := builtin().FindDescriptorByName(protoreflect.FullName(name)); err == nil {
		return d.ParentFile(), nil
	}
	d, err := s.files.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil, err
	}
	return d.ParentFile(), nil
}

// listServices returns the services to report, sorted.
func (s *Server) listServices() []string {
	if s.services != nil {
		out := append([]string(nil), s.services...)
		sort.Strings(out)
		return out
	}
	var out []string
	s.files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		svcs := fd.Services()
		for i := 0; i < svcs.Len(); i++ {
			out = append(out, string(svcs.Get(i).FullName()))
		}
		return true
	})
	sort.Strings(out)
	return out
}

// Service names.
const (
	ServiceNameV1      = "grpc.reflection.v1.ServerReflection"
	ServiceNameV1Alpha = "grpc.reflection.v1alpha.ServerReflection"
)

func serviceInfo(pkg string) *service.Info {
	return &service.Info{
		Name:        "ServerReflection",
		Package:     pkg,
		HandlerType: (*Server)(nil),
		Codec:       "grpc",
		Methods: map[string]*service.MethodInfo{
			"ServerReflectionInfo": {
				Name: "ServerReflectionInfo",
				Handler: func(ctx context.Context, impl, args, result any) error {
					return impl.(*Server).Info(args.(stream.ServerStream))
				},
				StreamingMode: service.StreamingBidi,
			},
		},
	}
}

// ServiceInfoV1 returns the descriptor of
// grpc.reflection.v1.ServerReflection; the handler expects a *[Server].
func ServiceInfoV1() *service.Info { return serviceInfo("grpc.reflection.v1") }

// ServiceInfoV1Alpha returns the descriptor of
// grpc.reflection.v1alpha.ServerReflection, which older tools use.
func ServiceInfoV1Alpha() *service.Info { return serviceInfo("grpc.reflection.v1alpha") }
