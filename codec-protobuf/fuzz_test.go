package protocodec_test

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/structpb"

	protocodec "github.com/skiffrpc/skiff/codec-protobuf"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

func checkProtocolError(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, status.ErrProtocol) {
		t.Fatalf("%s: %T %v is not a protocol error", what, err, err)
	}
}

// FuzzDecode decodes arbitrary bytes as a Kitex Protobuf message whose
// payload is a google.protobuf.Struct (nested messages, repeated and map
// fields): errors must be protocol errors; a decoded message must encode
// and decode to an equal one, and a raw payload (codec.Raw) must decode
// exactly when the untyped check passes and re-encode to the same bytes.
// The seed corpus in testdata/fuzz/FuzzDecode holds the messages of the
// Kitex captures and a few more.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		msg := &codec.Message{}
		n, err := protocodec.Codec.DecodeEnvelope(data, msg)
		if err != nil {
			checkProtocolError(t, "envelope", err)
			return
		}
		if n < protocodec.EnvelopeSize || n > len(data) {
			t.Fatalf("envelope length %d of a %d-byte message", n, len(data))
		}
		body := data[n:]
		if msg.Type == codec.Exception {
			if err := protocodec.Codec.DecodePayload(body, msg); err != nil {
				checkProtocolError(t, "exception", err)
				return
			}
			b := encode(t, msg)
			again, err := decode(t, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if again.Err.TypeID() != msg.Err.TypeID() || again.Err.Message() != msg.Err.Message() || again.Method != msg.Method || again.SeqID != msg.SeqID {
				t.Fatalf("exception round trip: %v, want %v", again.Err, msg.Err)
			}
			return
		}
		w := &wrapper{}
		msg.Payload = w
		err = protocodec.Codec.DecodePayload(body, msg)
		rawErr := protocodec.Codec.DecodePayload(body, &codec.Message{Type: msg.Type})
		checkRaw(t, data[:n], body, msg, rawErr)
		if err != nil {
			checkProtocolError(t, "payload", err)
			if rawErr != nil {
				checkProtocolError(t, "raw payload", rawErr)
			}
			return
		}
		if rawErr != nil {
			t.Fatalf("a typed decode succeeded and the untyped check failed: %v", rawErr)
		}
		b := encode(t, msg)
		back := &wrapper{}
		again, err := decode(t, b, back)
		if err != nil {
			t.Fatalf("decode of a re-encoded message: %v", err)
		}
		if again.Type != msg.Type || again.Method != msg.Method || again.SeqID != msg.SeqID || !proto.Equal(back.msg, w.msg) {
			t.Fatalf("round trip: %v %q %d %v, want %v %q %d %v", again.Type, again.Method, again.SeqID, back.msg, msg.Type, msg.Method, msg.SeqID, w.msg)
		}
	})
}

// checkRaw decodes body into a *codec.Raw: it must fail exactly when the
// untyped check (checkErr) does, with a protocol error, and otherwise hold
// a copy of body that re-encodes to the original message.
func checkRaw(t *testing.T, env, body []byte, msg *codec.Message, checkErr error) {
	t.Helper()
	var raw codec.Raw
	err := protocodec.Codec.DecodePayload(body, &codec.Message{Type: msg.Type, Payload: &raw})
	if (err == nil) != (checkErr == nil) {
		t.Fatalf("raw payload: %v, untyped check: %v", err, checkErr)
	}
	if err != nil {
		checkProtocolError(t, "raw payload", err)
		return
	}
	if !bytes.Equal(raw, body) {
		t.Fatalf("raw payload %x, want %x", raw, body)
	}
	if len(raw) > 0 && &raw[0] == &body[0] {
		t.Fatal("raw payload aliases the body")
	}
	b := encode(t, &codec.Message{Type: msg.Type, Method: msg.Method, SeqID: msg.SeqID, Payload: raw})
	if want := append(append([]byte(nil), env...), body...); !bytes.Equal(b, want) {
		t.Fatalf("raw re-encoding:\n got %x\nwant %x", b, want)
	}
}

// FuzzPayload unmarshals arbitrary bytes with the payload codec into a
// proto3 message with maps and lists (google.protobuf.Struct), a proto2
// message with many nested kinds (google.protobuf.FileDescriptorProto) and
// a codec.Raw: errors must be protocol errors, and what decodes must
// marshal and decode to an equal message (a Raw to the same bytes).
func FuzzPayload(f *testing.F) {
	p := protocodec.Payload
	f.Fuzz(func(t *testing.T, data []byte) {
		var raw codec.Raw
		if err := p.Unmarshal(data, &raw); err != nil {
			checkProtocolError(t, "unmarshal raw", err)
		} else if b, err := p.Marshal(raw); err != nil || !bytes.Equal(raw, data) || !bytes.Equal(b, data) {
			t.Fatalf("raw round trip: %x, %x (%v), want %x", raw, b, err, data)
		}
		for _, m := range []proto.Message{&structpb.Struct{}, &descriptorpb.FileDescriptorProto{}} {
			if err := p.Unmarshal(data, m); err != nil {
				checkProtocolError(t, "unmarshal", err)
				continue
			}
			b, err := p.Marshal(m)
			if err != nil {
				// What decoded (required fields and UTF-8 checked) must encode.
				t.Fatalf("marshal %T: %v", m, err)
			}
			back := m.ProtoReflect().New().Interface()
			if err := p.Unmarshal(b, back); err != nil || !proto.Equal(back, m) {
				t.Fatalf("round trip of %T: %v", m, err)
			}
		}
	})
}
