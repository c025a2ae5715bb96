package thriftcodec_test

import (
	"bytes"
	"reflect"
	"testing"

	tc "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/transport"
)

func TestRegistered(t *testing.T) {
	if codec.Lookup("thrift") != tc.Codec {
		t.Error(`codec "thrift" is not Codec`)
	}
	if codec.LookupPayload("thrift") != tc.Payload {
		t.Error(`payload codec "thrift" is not Payload`)
	}
	if transport.Lookup("buffered") != tc.Buffered {
		t.Error(`transport "buffered" is not Buffered`)
	}
	if tc.Framed != transport.Lookup("framed") {
		t.Error("Framed is not the registered framed transport")
	}
	if _, ok := tc.Payload.(codec.SizeAppender); !ok {
		t.Error("Payload is not a SizeAppender")
	}
	if _, ok := tc.Buffered.(transport.CodecDetector); !ok {
		t.Error("Buffered is not a CodecDetector")
	}
}

func TestDetect(t *testing.T) {
	for _, tt := range []struct {
		prefix          []byte
		codec, buffered bool
	}{
		{[]byte{0x80, 0x01, 0x00, 0x01, 0, 0, 0, 4}, true, true},
		{[]byte{0x80, 0x01, 0x00, 0x04}, true, true},
		{[]byte{0x80, 0x01}, true, true},
		{[]byte{0x80, 0x01, 0x00}, true, true},
		{[]byte{0x80, 0x01, 0x00, 0x05}, false, true},
		{[]byte{0x80, 0x01, 0x00, 0x00}, false, true},
		{[]byte{0x80, 0x01, 0x01, 0x01}, false, true},
		{[]byte{0x80, 0x02, 0x00, 0x01}, false, false},
		{[]byte{0x90, 0x01, 0x00, 0x01}, false, false},
		{[]byte{0x00, 0x00, 0x00, 0x1b, 0x80, 0x01, 0x00, 0x01}, false, false},
		{[]byte{0x80}, false, false},
		{nil, false, false},
	} {
		if got := tc.Codec.Detect(tt.prefix); got != tt.codec {
			t.Errorf("Codec.Detect(%x) = %v", tt.prefix, got)
		}
		if got := tc.Buffered.Detect(tt.prefix); got != tt.buffered {
			t.Errorf("Buffered.Detect(%x) = %v", tt.prefix, got)
		}
	}
	// Framed sees a Thrift message behind its length.
	if !tc.Framed.Detect([]byte{0x00, 0x00, 0x00, 0x1b, 0x80, 0x01, 0x00, 0x01}) {
		t.Error("Framed.Detect missed a framed Thrift message")
	}
}

func TestPayloadCodec(t *testing.T) {
	v := echoArgs(captureMsg)
	sa := tc.Payload.(codec.SizeAppender)
	b, err := tc.Payload.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Size(v) != len(b) || !bytes.Equal(b, v.FastAppend(nil)) {
		t.Fatalf("Marshal = %x (Size %d)", b, sa.Size(v))
	}
	slow, err := tc.Payload.Marshal(slowOnly{v})
	if err != nil || !bytes.Equal(slow, b) || sa.Size(slowOnly{v}) != -1 {
		t.Fatalf("TStruct Marshal = %x, %v", slow, err)
	}
	pre := []byte("pre")
	if got, _ := sa.AppendMarshal(pre, v); !bytes.Equal(got, append([]byte("pre"), b...)) {
		t.Fatalf("AppendMarshal = %x", got)
	}
	for _, into := range []func() (any, *wrapper){
		func() (any, *wrapper) { w := echoArgs(nil); return w, w },
		func() (any, *wrapper) { w := echoArgs(nil); return slowOnly{w}, w },
	} {
		dst, w := into()
		if err := tc.Payload.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(w, v) {
			t.Fatalf("Unmarshal = %+v", w)
		}
		dst, _ = into()
		checkProtocolError(t, "trailing bytes", tc.Payload.Unmarshal(append(b, 0), dst))
		dst, _ = into()
		checkProtocolError(t, "truncated", tc.Payload.Unmarshal(b[:len(b)-1], dst))
	}
	if b, err := tc.Payload.Marshal(nil); err != nil || !bytes.Equal(b, []byte{0}) {
		t.Fatalf("Marshal(nil) = %x, %v", b, err)
	}
	if err := tc.Payload.Unmarshal([]byte{0}, nil); err == nil {
		t.Fatal("Unmarshal into nil succeeded")
	}
}

// TestNilPayload: a nil payload encodes as an empty struct and a nil
// decode target validates and discards the struct.
func TestNilPayload(t *testing.T) {
	msg := &codec.Message{Type: codec.Oneway, Method: "Notify", SeqID: 3}
	b := encode(t, msg)
	want := []byte{0x80, 1, 0, 4, 0, 0, 0, 6, 'N', 'o', 't', 'i', 'f', 'y', 0, 0, 0, 3, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("got %x, want %x", b, want)
	}
	full := encode(t, &codec.Message{Type: codec.Call, Method: "Echo", Payload: echoArgs(captureMsg)})
	n, _ := tc.Codec.DecodeEnvelope(full, msg)
	msg.Payload = nil
	if err := tc.Codec.DecodePayload(full[n:], msg); err != nil {
		t.Fatal(err)
	}
}

// TestFramedRoundTrip writes messages with Framed and reads them back.
func TestFramedRoundTrip(t *testing.T) {
	var w memWriter
	for i := range 3 {
		msg := &codec.Message{Type: codec.Call, Method: "Echo", SeqID: int32(i), Payload: echoArgs(captureMsg)}
		if err := tc.Framed.WriteMessage(&w, msg, tc.Codec); err != nil {
			t.Fatal(err)
		}
	}
	r := newMemReader(w.buf, 5)
	for i := range 3 {
		msg := &codec.Message{}
		body, err := tc.Framed.ReadMessage(r, msg, 0)
		if err != nil {
			t.Fatal(err)
		}
		n, err := tc.Codec.DecodeEnvelope(body, msg)
		if err != nil {
			t.Fatal(err)
		}
		got := echoArgs(nil)
		msg.Payload = got
		if err := tc.Codec.DecodePayload(body[n:], msg); err != nil {
			t.Fatal(err)
		}
		if msg.SeqID != int32(i) || !reflect.DeepEqual(got, echoArgs(captureMsg)) {
			t.Fatalf("message %d: seq %d, %+v", i, msg.SeqID, got)
		}
	}
}

// TestDecodeDoesNotAlias checks that decoded strings and binaries survive
// the reuse of the input buffer.
func TestDecodeDoesNotAlias(t *testing.T) {
	b := encode(t, &codec.Message{Type: codec.Call, Method: "Echo", Payload: echoArgs(captureMsg)})
	msg := &codec.Message{}
	n, _ := tc.Codec.DecodeEnvelope(b, msg)
	got := echoArgs(nil)
	msg.Payload = got
	if err := tc.Codec.DecodePayload(b[n:], msg); err != nil {
		t.Fatal(err)
	}
	clear(b)
	if msg.Method != "Echo" || !reflect.DeepEqual(got, echoArgs(captureMsg)) {
		t.Fatalf("decoded values changed with the buffer: %q %+v", msg.Method, got.msg)
	}
}

// TestHelpersDoNotAllocate checks the append, read and skip helpers and the
// envelope decoder for allocations.
func TestHelpersDoNotAllocate(t *testing.T) {
	msg := &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 1, Payload: echoArgs(captureMsg)}
	buf := make([]byte, 0, 256)
	var dst codec.Message
	allocs := testing.AllocsPerRun(100, func() {
		out, _ := tc.Codec.Append(buf, msg)
		n, _ := tc.Codec.DecodeEnvelope(out, &dst)
		tc.Skip(out[n:], tc.TypeStruct, tc.MaxDepth)
		out = tc.AppendFieldBegin(out[:0], tc.TypeI64, 2)
		out = tc.AppendI64(out, 7)
		out = tc.AppendString(out, "abc")
		out = tc.AppendMapBegin(out, tc.TypeString, tc.TypeString, 0)
		tc.ReadFieldBegin(out)
		tc.ReadI64(out[3:])
		tc.ReadMapBegin(out[18:])
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}
