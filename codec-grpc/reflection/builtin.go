package reflection

import (
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The descriptors of grpc.health.v1 and of reflection (v1 and v1alpha),
// built here into a private registry so grpcurl can describe those
// services too, without registering their names globally (grpc-go
// registers the same names; a program that links both would panic).

var (
	builtinOnce  sync.Once
	builtinFiles *protoregistry.Files
)

func builtin() *protoregistry.Files {
	builtinOnce.Do(func() {
		builtinFiles = new(protoregistry.Files)
		for _, fdp := range []*descriptorpb.FileDescriptorProto{
			healthFile(), reflectionFile("v1"), reflectionFile("v1alpha"),
		} {
			fd, err := protodesc.NewFile(fdp, builtinFiles)
			if err == nil {
				_ = builtinFiles.RegisterFile(fd)
			}
		}
	})
	return builtinFiles
}

func field(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string, repeated bool, oneof *int32) *descriptorpb.FieldDescriptorProto {
	f := &descriptorpb.FieldDescriptorProto{
		Name:     proto.String(name),
		JsonName: proto.String(jsonName(name)),
		Number:   proto.Int32(num),
		Type:     typ.Enum(),
		Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
	}
	if repeated {
		f.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	}
	if typeName != "" {
		f.TypeName = proto.String(typeName)
	}
	f.OneofIndex = oneof
	return f
}

func jsonName(s string) string {
	b := make([]byte, 0, len(s))
	up := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			up = true
			continue
		}
		if up && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b = append(b, c)
	}
	return string(b)
}

func message(name string, fields ...*descriptorpb.FieldDescriptorProto) *descriptorpb.DescriptorProto {
	return &descriptorpb.DescriptorProto{Name: proto.String(name), Field: fields}
}

func method(name, in, out string, clientStream, serverStream bool) *descriptorpb.MethodDescriptorProto {
	m := &descriptorpb.MethodDescriptorProto{Name: proto.String(name), InputType: proto.String(in), OutputType: proto.String(out)}
	if clientStream {
		m.ClientStreaming = proto.Bool(true)
	}
	if serverStream {
		m.ServerStreaming = proto.Bool(true)
	}
	return m
}

const (
	tString = descriptorpb.FieldDescriptorProto_TYPE_STRING
	tBytes  = descriptorpb.FieldDescriptorProto_TYPE_BYTES
	tInt32  = descriptorpb.FieldDescriptorProto_TYPE_INT32
	tEnum   = descriptorpb.FieldDescriptorProto_TYPE_ENUM
	tMsg    = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
)

func healthFile() *descriptorpb.FileDescriptorProto {
	const p = ".grpc.health.v1."
	res := message("HealthCheckResponse", field("status", 1, tEnum, p+"HealthCheckResponse.ServingStatus", false, nil))
	res.EnumType = []*descriptorpb.EnumDescriptorProto{{
		Name: proto.String("ServingStatus"),
		Value: []*descriptorpb.EnumValueDescriptorProto{
			{Name: proto.String("UNKNOWN"), Number: proto.Int32(0)},
			{Name: proto.String("SERVING"), Number: proto.Int32(1)},
			{Name: proto.String("NOT_SERVING"), Number: proto.Int32(2)},
			{Name: proto.String("SERVICE_UNKNOWN"), Number: proto.Int32(3)},
		},
	}}
	return &descriptorpb.FileDescriptorProto{
		Name:    proto.String("grpc/health/v1/health.proto"),
		Package: proto.String("grpc.health.v1"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			message("HealthCheckRequest", field("service", 1, tString, "", false, nil)),
			res,
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("Health"),
			Method: []*descriptorpb.MethodDescriptorProto{
				method("Check", p+"HealthCheckRequest", p+"HealthCheckResponse", false, false),
				method("Watch", p+"HealthCheckRequest", p+"HealthCheckResponse", false, true),
			},
		}},
	}
}

func reflectionFile(version string) *descriptorpb.FileDescriptorProto {
	pkg := "grpc.reflection." + version
	p := "." + pkg + "."
	zero := proto.Int32(0)
	req := message("ServerReflectionRequest",
		field("host", 1, tString, "", false, nil),
		field("file_by_filename", 3, tString, "", false, zero),
		field("file_containing_symbol", 4, tString, "", false, zero),
		field("file_containing_extension", 5, tMsg, p+"ExtensionRequest", false, zero),
		field("all_extension_numbers_of_type", 6, tString, "", false, zero),
		field("list_services", 7, tString, "", false, zero),
	)
	req.OneofDecl = []*descriptorpb.OneofDescriptorProto{{Name: proto.String("message_request")}}
	res := message("ServerReflectionResponse",
		field("valid_host", 1, tString, "", false, nil),
		field("original_request", 2, tMsg, p+"ServerReflectionRequest", false, nil),
		field("file_descriptor_response", 4, tMsg, p+"FileDescriptorResponse", false, zero),
		field("all_extension_numbers_response", 5, tMsg, p+"ExtensionNumberResponse", false, zero),
		field("list_services_response", 6, tMsg, p+"ListServiceResponse", false, zero),
		field("error_response", 7, tMsg, p+"ErrorResponse", false, zero),
	)
	res.OneofDecl = []*descriptorpb.OneofDescriptorProto{{Name: proto.String("message_response")}}
	return &descriptorpb.FileDescriptorProto{
		Name:    proto.String("grpc/reflection/" + version + "/reflection.proto"),
		Package: proto.String(pkg),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			req,
			message("ExtensionRequest", field("containing_type", 1, tString, "", false, nil), field("extension_number", 2, tInt32, "", false, nil)),
			res,
			message("FileDescriptorResponse", field("file_descriptor_proto", 1, tBytes, "", true, nil)),
			message("ExtensionNumberResponse", field("base_type_name", 1, tString, "", false, nil), field("extension_number", 2, tInt32, "", true, nil)),
			message("ListServiceResponse", field("service", 1, tMsg, p+"ServiceResponse", true, nil)),
			message("ServiceResponse", field("name", 1, tString, "", false, nil)),
			message("ErrorResponse", field("error_code", 1, tInt32, "", false, nil), field("error_message", 2, tString, "", false, nil)),
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name:   proto.String("ServerReflection"),
			Method: []*descriptorpb.MethodDescriptorProto{method("ServerReflectionInfo", p+"ServerReflectionRequest", p+"ServerReflectionResponse", true, true)},
		}},
	}
}
