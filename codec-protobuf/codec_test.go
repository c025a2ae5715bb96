package protocodec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	protocodec "github.com/skiffrpc/skiff/codec-protobuf"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

func TestRegistered(t *testing.T) {
	if c := codec.Lookup("protobuf"); c != protocodec.Codec {
		t.Errorf("codec.Lookup(protobuf) = %v", c)
	}
	if p := codec.LookupPayload("protobuf"); p != protocodec.Payload {
		t.Errorf("codec.LookupPayload(protobuf) = %v", p)
	}
	if _, ok := protocodec.Payload.(codec.SizeAppender); !ok {
		t.Error("Payload does not implement codec.SizeAppender")
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		prefix []byte
		want   bool
	}{
		{[]byte{0x90, 0x01, 0x00, 0x01, 0, 0, 0, 4}, true},
		{[]byte{0x90, 0x01, 0x00, 0x02}, true},
		{[]byte{0x90, 0x01}, true},
		{[]byte{0x90, 0x01, 0x00, 0x05}, false},
		{[]byte{0x90, 0x01, 0x00, 0x00}, false},
		{[]byte{0x90, 0x01, 0x01, 0x01}, false},
		{[]byte{0x80, 0x01, 0x00, 0x01}, false},
		{[]byte{0x90}, false},
		{nil, false},
	} {
		if got := protocodec.Codec.Detect(tc.prefix); got != tc.want {
			t.Errorf("Detect(%x) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
}

// Every message type round-trips with nested messages, repeated and map
// fields; the envelope is the bytes Kitex writes.
func TestRoundTrip(t *testing.T) {
	want := nested(t)
	for _, typ := range []codec.MessageType{codec.Call, codec.Reply, codec.Oneway} {
		b := encode(t, &codec.Message{Type: typ, SeqID: -7, Method: "Echo", Payload: &wrapper{msg: want}})
		head := []byte{0x90, 0x01, 0x00, byte(typ), 0, 0, 0, 4, 'E', 'c', 'h', 'o', 0xff, 0xff, 0xff, 0xf9}
		if !bytes.HasPrefix(b, head) {
			t.Fatalf("%v: envelope %x, want %x", typ, b[:len(head)], head)
		}
		body, err := proto.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if len(b)-len(head) != len(body) {
			t.Fatalf("%v: body of %d bytes, proto.Marshal gives %d", typ, len(b)-len(head), len(body))
		}
		w := &wrapper{}
		msg, err := decode(t, b, w)
		if err != nil {
			t.Fatalf("%v: decode: %v", typ, err)
		}
		if msg.Type != typ || msg.SeqID != -7 || msg.Method != "Echo" {
			t.Errorf("%v: envelope decoded as %v %d %q", typ, msg.Type, msg.SeqID, msg.Method)
		}
		if !proto.Equal(w.msg, want) {
			t.Errorf("%v: payload %v, want %v", typ, w.msg, want)
		}
	}
}

// An empty message has an empty body, and a nil wrapped message encodes as
// one.
func TestEmptyMessage(t *testing.T) {
	for _, p := range []any{&emptypb.Empty{}, &wrapper{}, nil, &structpb.Struct{}} {
		b := encode(t, &codec.Message{Type: codec.Reply, SeqID: 1, Method: "Ping", Payload: p})
		if len(b) != protocodec.EnvelopeSize+4 {
			t.Errorf("%T: %d bytes, want the bare envelope", p, len(b))
		}
		out := &emptypb.Empty{}
		if _, err := decode(t, b, out); err != nil {
			t.Errorf("%T: decode: %v", p, err)
		}
	}
}

// Decoded strings and bytes do not alias the input: the runtime releases
// it after the decode.
func TestDecodeCopies(t *testing.T) {
	b := encode(t, &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: echoMsg(false, "hello", 3, []byte("blob"))})
	got := newEcho(false)
	if _, err := decode(t, b, got); err != nil {
		t.Fatal(err)
	}
	clear(b)
	if !proto.Equal(got, echoMsg(false, "hello", 3, []byte("blob"))) {
		t.Errorf("decoded message changed with its input: %v", got)
	}

	v := wrapperspb.Bytes([]byte("payload"))
	data, err := protocodec.Payload.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out := &wrapperspb.BytesValue{}
	if err := protocodec.Payload.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
	clear(data)
	if string(out.Value) != "payload" {
		t.Errorf("Payload.Unmarshal aliased its input: %q", out.Value)
	}
}

// A handler error travels as ErrorProto{TypeID, Message} and arrives as a
// remote error with the code of its type id.
func TestException(t *testing.T) {
	for _, tc := range []struct {
		err      *status.Error
		typeID   int32
		code     status.Code
		protoErr bool
	}{
		{status.Exception(status.TypeUnknownMethod, "unknown method Nope"), status.TypeUnknownMethod, status.Unimplemented, false},
		{status.New(status.Internal, "boom"), status.TypeInternalError, status.Internal, false},
		{status.New(status.Unknown, "who knows"), status.TypeUnknown, status.Unknown, false},
		{status.Protocolf("bad bytes"), status.TypeProtocolError, status.Internal, false},
		{status.Exception(status.TypeInternalError, ""), status.TypeInternalError, status.Internal, false},
	} {
		b := encode(t, &codec.Message{Type: codec.Exception, SeqID: 9, Method: "Echo", Err: tc.err})
		msg, err := decode(t, b, nil)
		if err != nil {
			t.Fatalf("%v: %v", tc.err, err)
		}
		got := msg.Err
		if got == nil || got.TypeID() != tc.typeID || got.Code() != tc.code || got.Message() != tc.err.Message() {
			t.Errorf("%v: decoded %v (type %d)", tc.err, got, got.TypeID())
		}
		if !errors.Is(got, status.ErrRemote) {
			t.Errorf("%v: decoded error is not remote: %v", tc.err, got)
		}
		if protocodec.ExceptionType(tc.err) != tc.typeID {
			t.Errorf("ExceptionType(%v) = %d", tc.err, protocodec.ExceptionType(tc.err))
		}
	}
	// Kitex's encoding of ErrorProto{TypeID: 1, Message: "m"}, with an
	// unknown field in between.
	body := []byte{0x08, 0x01, 0x18, 0x05, 0x12, 0x01, 'm'}
	b := append(encode(t, &codec.Message{Type: codec.Exception, SeqID: 1, Method: "X", Err: status.Exception(0, "")}), body...)
	msg, err := decode(t, b, nil)
	if err != nil || msg.Err.TypeID() != 1 || msg.Err.Message() != "m" {
		t.Errorf("decode Kitex ErrorProto: %v, %v", msg.Err, err)
	}
	if protocodec.ExceptionType(nil) != status.TypeUnknown {
		t.Error("ExceptionType(nil) is not TypeUnknown")
	}
}

// Bad input gives protocol errors, never a panic.
func TestBadInput(t *testing.T) {
	good := encode(t, &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: echoMsg(false, "hi", 1, nil)})
	long := binary.BigEndian.AppendUint32([]byte{0x90, 0x01, 0x00, 0x01}, protocodec.MaxMethodNameLen+1)
	long = append(long, make([]byte, protocodec.MaxMethodNameLen+8)...)
	for _, tc := range []struct {
		name, want string
		b          []byte
	}{
		{"empty", "shorter than an envelope", nil},
		{"short", "shorter than an envelope", good[:10]},
		{"thrift magic", "bad magic 0x8001", append([]byte{0x80, 0x01}, good[2:]...)},
		{"wrong magic", "bad magic 0x1234", append([]byte{0x12, 0x34}, good[2:]...)},
		{"message type 0", "unknown message type 0", append([]byte{0x90, 0x01, 0x00, 0x00}, good[4:]...)},
		{"message type 6", "unknown message type 6", append([]byte{0x90, 0x01, 0x00, 0x06}, good[4:]...)},
		{"name past frame", "runs past the end", append([]byte{0x90, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x40}, good[8:]...)},
		{"name length negative", "exceeds 4096", append([]byte{0x90, 0x01, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff}, good[8:]...)},
		{"name too long", "exceeds 4096", long},
		{"no seq id", "runs past the end", good[:14]},
	} {
		_, err := decode(t, tc.b, newEcho(false))
		if !errors.Is(err, status.ErrProtocol) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a protocol error with %q", tc.name, err, tc.want)
		}
	}

	env := len(good) - len("\x0a\x02hi\x10\x01")
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"truncated field", []byte{0x0a, 0x05, 'h'}},
		{"bad tag", []byte{0x00}},
		{"bad wire type", []byte{0x0f}},
		{"truncated varint", []byte{0x10, 0x80}},
		{"invalid utf-8 in a proto3 string", []byte{0x0a, 0x01, 0xff}},
		{"end group without start", []byte{0x0c}},
	} {
		b := append(bytes.Clone(good[:env]), tc.body...)
		if _, err := decode(t, b, newEcho(false)); !errors.Is(err, status.ErrProtocol) {
			t.Errorf("%s: %v, want a protocol error", tc.name, err)
		}
		if tc.name == "invalid utf-8 in a proto3 string" {
			continue // well-formed wire bytes: only a typed decode rejects them
		}
		if _, err := decode(t, b, nil); !errors.Is(err, status.ErrProtocol) {
			t.Errorf("%s into nil: %v, want a protocol error", tc.name, err)
		}
		exc := append(bytes.Clone(good[:env]), tc.body...)
		exc[3] = byte(codec.Exception)
		if _, err := decode(t, exc, nil); !errors.Is(err, status.ErrProtocol) {
			t.Errorf("%s as ErrorProto: %v, want a protocol error", tc.name, err)
		}
	}
}

// Values that are not protobuf messages are refused with an internal
// error, as are bad messages to encode.
func TestEncodeErrors(t *testing.T) {
	for _, msg := range []*codec.Message{
		{Type: codec.Call, Method: "Echo", Payload: struct{}{}},
		{Type: codec.Call, Method: "Echo", Payload: wrapperspb.String("\xff")},
		{Type: codec.Exception, Method: "Echo"},
		{Type: 0, Method: "Echo"},
		{Type: 5, Method: "Echo"},
		{Type: codec.Call, Method: strings.Repeat("m", protocodec.MaxMethodNameLen+1)},
	} {
		dst := []byte("keep")
		out, err := protocodec.Codec.Append(dst, msg)
		if err == nil {
			t.Errorf("Append(%+v) succeeded", msg)
		}
		if string(out) != "keep" {
			t.Errorf("Append(%+v) left %q in dst", msg, out)
		}
	}
	if n := protocodec.Codec.Size(&codec.Message{Type: codec.Call, Payload: 42}); n != -1 {
		t.Errorf("Size of a non-message payload: %d", n)
	}
	if n := protocodec.Codec.Size(&codec.Message{Type: codec.Exception}); n != -1 {
		t.Errorf("Size of an exception without an error: %d", n)
	}
	msg := &codec.Message{Type: codec.Call, Payload: (*structpb.Struct)(nil)}
	b := encode(t, msg)
	if _, err := decode(t, b, (*structpb.Struct)(nil)); err == nil || errors.Is(err, status.ErrProtocol) {
		t.Errorf("decode into a nil *Struct: %v, want an internal error", err)
	}
	if _, err := decode(t, b, 42); err == nil {
		t.Error("decode into an int succeeded")
	}
}

func TestPayload(t *testing.T) {
	p := protocodec.Payload
	sa := p.(codec.SizeAppender)
	want := nested(t)
	b, err := p.Marshal(&wrapper{msg: want})
	if err != nil {
		t.Fatal(err)
	}
	if n := sa.Size(want); n != len(b) {
		t.Errorf("Size %d, Marshal wrote %d", n, len(b))
	}
	b2, err := sa.AppendMarshal([]byte{1, 2}, want)
	back := &structpb.Struct{}
	if err != nil || len(b2) != 2+len(b) || b2[0] != 1 || proto.Unmarshal(b2[2:], back) != nil || !proto.Equal(back, want) {
		t.Errorf("AppendMarshal: %x, %v", b2, err)
	}
	w := &wrapper{}
	if err := p.Unmarshal(b, w); err != nil || !proto.Equal(w.msg, want) {
		t.Errorf("Unmarshal into a wrapper: %v, %v", w.msg, err)
	}
	if err := p.Unmarshal([]byte{0x0a, 0x05}, &structpb.Struct{}); !errors.Is(err, status.ErrProtocol) {
		t.Errorf("Unmarshal of truncated bytes: %v", err)
	}
	if err := p.Unmarshal(b, nil); err == nil {
		t.Error("Unmarshal into nil succeeded")
	}
	if _, err := p.Marshal("not a message"); err == nil {
		t.Error("Marshal of a string succeeded")
	}
	if b, err := p.Marshal(nil); err != nil || len(b) != 0 {
		t.Errorf("Marshal(nil) = %x, %v", b, err)
	}
	if p.Name() != "protobuf" || protocodec.Codec.Name() != "protobuf" {
		t.Errorf("names %q %q", p.Name(), protocodec.Codec.Name())
	}
}

// Method names are interned: decoding a known name does not allocate it
// again.
func TestDecodeEnvelopeAllocs(t *testing.T) {
	b := encode(t, &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo"})
	var msg codec.Message
	if _, err := protocodec.Codec.DecodeEnvelope(b, &msg); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = protocodec.Codec.DecodeEnvelope(b, &msg) }); n != 0 {
		t.Errorf("DecodeEnvelope allocates %v times", n)
	}
}
