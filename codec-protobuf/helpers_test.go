package protocodec_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	protocodec "github.com/skiffrpc/skiff/codec-protobuf"
	"github.com/skiffrpc/skiff/core/codec"
)

// echoFile is testdata/echo.proto (the IDL of the Kitex captures) built by
// hand, so the tests need no generated code: message EchoRequest and
// EchoResponse {string message = 1; int64 seq = 2; bytes blob = 3}.
var echoFile = func() protoreflect.FileDescriptor {
	fields := []*descriptorpb.FieldDescriptorProto{
		{Name: proto.String("message"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String("message")},
		{Name: proto.String("seq"), Number: proto.Int32(2), Type: descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String("seq")},
		{Name: proto.String("blob"), Number: proto.Int32(3), Type: descriptorpb.FieldDescriptorProto_TYPE_BYTES.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String("blob")},
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("echo.proto"),
		Package: proto.String("echo.pb"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("EchoRequest"), Field: fields},
			{Name: proto.String("EchoResponse"), Field: fields},
		},
	}, nil)
	if err != nil {
		panic(err)
	}
	return fd
}()

// newEcho returns an empty dynamic EchoRequest (or EchoResponse).
func newEcho(response bool) *dynamicpb.Message {
	i := 0
	if response {
		i = 1
	}
	return dynamicpb.NewMessage(echoFile.Messages().Get(i))
}

// echoMsg returns a dynamic echo message with the fields set.
func echoMsg(response bool, message string, seq int64, blob []byte) *dynamicpb.Message {
	m := newEcho(response)
	fs := m.Descriptor().Fields()
	if message != "" {
		m.Set(fs.ByNumber(1), protoreflect.ValueOfString(message))
	}
	if seq != 0 {
		m.Set(fs.ByNumber(2), protoreflect.ValueOfInt64(seq))
	}
	if blob != nil {
		m.Set(fs.ByNumber(3), protoreflect.ValueOfBytes(blob))
	}
	return m
}

// wrapper is a generated-style argument or result wrapper: Unwrap
// allocates the message when it is nil.
type wrapper struct {
	msg *structpb.Struct
}

func (w *wrapper) Unwrap() any {
	if w.msg == nil {
		w.msg = new(structpb.Struct)
	}
	return w.msg
}

var _ codec.Wrapper = (*wrapper)(nil)

// nested returns a Struct with nested messages, lists (repeated) and maps.
func nested(t testing.TB) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(map[string]any{
		"name":  "skiff ☺",
		"count": 42.5,
		"ok":    true,
		"none":  nil,
		"list":  []any{"a", 1.0, false, map[string]any{"deep": []any{"x", "y"}}},
		"map":   map[string]any{"k1": "v1", "k2": map[string]any{"k3": 3.0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// encode encodes msg with the exact size Codec.Size gives and checks that
// Append fills it without reallocating.
func encode(t testing.TB, msg *codec.Message) []byte {
	t.Helper()
	n := protocodec.Codec.Size(msg)
	if n < 0 {
		t.Fatalf("Size: %d", n)
	}
	buf := make([]byte, 0, n)
	out, err := protocodec.Codec.Append(buf, msg)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(out) != n {
		t.Fatalf("Append wrote %d bytes, Size said %d", len(out), n)
	}
	if &out[:1][0] != &buf[:1][0] {
		t.Fatal("Append reallocated a buffer of the exact size")
	}
	return out
}

// decode decodes b into a new message whose payload is p.
func decode(t testing.TB, b []byte, p any) (*codec.Message, error) {
	t.Helper()
	msg := &codec.Message{}
	n, err := protocodec.Codec.DecodeEnvelope(b, msg)
	if err != nil {
		return msg, err
	}
	if msg.Type != codec.Exception {
		msg.Payload = p
	}
	return msg, protocodec.Codec.DecodePayload(b[n:], msg)
}
