package envcodec_test

import (
	"bytes"
	"strings"
	"testing"

	"example.com/skiffext/envcodec"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/codectest"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/status"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// payloadBytes returns the bytes of a decoded or encoded payload.
func payloadBytes(v any) ([]byte, bool) {
	if b, ok := codec.RawBytes(v); ok {
		return b, true
	}
	if b, ok := v.(*envcodec.Bytes); ok && b != nil {
		return b.B, true
	}
	return nil, false
}

func sameBytes(got, want any) bool {
	g, ok1 := payloadBytes(got)
	w, ok2 := payloadBytes(want)
	return ok1 && ok2 && bytes.Equal(g, w)
}

// TestConformance runs core's codec kit on the codec, as any codec module
// does.
func TestConformance(t *testing.T) {
	newBytes := func() any { return new(envcodec.Bytes) }
	newRaw := func() any { return new(codec.Raw) }
	rawReply := codec.Raw("r")
	long := []byte(strings.Repeat("skiff", 2000)) // 10 KB: sampled cuts
	codectest.Run(t, envcodec.Codec, []codectest.Case{
		{Name: "call", Msg: &codec.Message{Type: codec.Call, SeqID: 7, Method: "Echo", Payload: &envcodec.Bytes{B: []byte("hi")}},
			NewPayload: newBytes, Equal: sameBytes},
		{Name: "reply", Msg: &codec.Message{Type: codec.Reply, SeqID: -1, Method: "Echo", Payload: &envcodec.Bytes{B: []byte("there")}},
			NewPayload: newBytes, Equal: sameBytes},
		{Name: "oneway-empty", Msg: &codec.Message{Type: codec.Oneway, SeqID: 1 << 30, Method: "Note", Payload: &envcodec.Bytes{}},
			NewPayload: newBytes, Equal: sameBytes},
		{Name: "raw-call", Msg: &codec.Message{Type: codec.Call, SeqID: 3, Method: "Hello", Payload: codec.Raw("raw bytes")},
			NewPayload: newRaw, Equal: sameBytes},
		{Name: "raw-pointer-reply", Msg: &codec.Message{Type: codec.Reply, SeqID: 3, Method: "Hello", Payload: &rawReply},
			NewPayload: newRaw, Equal: sameBytes},
		{Name: "long", Msg: &codec.Message{Type: codec.Call, SeqID: 9, Method: "Big", Payload: &envcodec.Bytes{B: long}},
			NewPayload: newBytes, Equal: sameBytes},
		codectest.Exception("exception-code", status.New(status.NotFound, "no such thing")),
		codectest.Exception("exception-type", status.Exception(status.TypeUnknownMethod, "unknown method Nope")),
	})
}

// TestRawCarrier checks the capability the server asks before it serves
// unknown methods with this codec.
func TestRawCarrier(t *testing.T) {
	if !codec.CarriesRaw(envcodec.Codec) {
		t.Fatal("envcodec is not a RawCarrier")
	}
	if codec.Lookup(envcodec.Name) != envcodec.Codec {
		t.Fatalf("codec.Lookup(%q) is not envcodec.Codec", envcodec.Name)
	}
}

// TestExceptionKeepsCodeAndKind: a handler's code and an overload
// rejection survive the codec.
func TestExceptionKeepsCodeAndKind(t *testing.T) {
	for _, e := range []*status.Error{
		status.New(status.PermissionDenied, "no"),
		status.Wrap(status.ErrOverload, "busy", nil),
	} {
		enc, err := envcodec.Codec.Append(nil, &codec.Message{Type: codec.Exception, Method: "M", Err: e})
		if err != nil {
			t.Fatal(err)
		}
		var m codec.Message
		n, err := envcodec.Codec.DecodeEnvelope(enc, &m)
		if err == nil {
			err = envcodec.Codec.DecodePayload(enc[n:], &m)
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Err.Code() != e.Code() || m.Err.Message() != e.Message() || !m.Err.IsRemote() {
			t.Errorf("%v came back as %v", e, m.Err)
		}
		if e.WireKind() == status.KindOverload && m.Err.Kind() != status.KindOverload {
			t.Errorf("overload came back as kind %v", m.Err.Kind())
		}
	}
}
