package protocodec_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	protocodec "github.com/skiffrpc/skiff/codec-protobuf"
	"github.com/skiffrpc/skiff/core/codec"
)

// kb is a 1 KB echo request: a string and bytes of 512 bytes each.
func kb() any {
	return echoMsg(false, string(bytes.Repeat([]byte("s"), 512)), 7, bytes.Repeat([]byte{0xab}, 512))
}

// BenchmarkEncode1KB encodes a 1 KB call into a reused buffer of the exact
// size, as a transport does.
func BenchmarkEncode1KB(b *testing.B) {
	for _, bc := range []struct {
		name string
		msg  any
	}{
		{"dynamic", kb()},
		{"generated", wrapperspb.Bytes(bytes.Repeat([]byte{0xab}, 1024))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			msg := &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: bc.msg}
			buf := make([]byte, 0, protocodec.Codec.Size(msg))
			b.ReportAllocs()
			for b.Loop() {
				n := protocodec.Codec.Size(msg)
				out, err := protocodec.Codec.Append(buf[:0:n], msg)
				if err != nil || len(out) != n {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode1KB decodes the envelope and a 1 KB payload of generated
// message type (wrapperspb.BytesValue).
func BenchmarkDecode1KB(b *testing.B) {
	msg := &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: wrapperspb.Bytes(bytes.Repeat([]byte{0xab}, 1024))}
	buf, err := protocodec.Codec.Append(nil, msg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var m codec.Message
		n, err := protocodec.Codec.DecodeEnvelope(buf, &m)
		if err != nil {
			b.Fatal(err)
		}
		m.Payload = &wrapperspb.BytesValue{}
		if err := protocodec.Codec.DecodePayload(buf[n:], &m); err != nil {
			b.Fatal(err)
		}
	}
}
