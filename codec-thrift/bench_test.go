package thriftcodec_test

import (
	"strings"
	"testing"

	tc "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
)

// benchArgs is a 1 KB echo request: a 900-byte message, a sequence number,
// two extra entries and a 64-byte blob.
func benchArgs() *wrapper {
	return echoArgs(&echoMsg{
		Message: strings.Repeat("a", 900),
		Seq:     ptr[int64](42),
		Extra:   []kv{{"trace", "0123456789abcdef"}, {"user", "skiff"}},
		Blob:    make([]byte, 64),
	})
}

func BenchmarkEncode(b *testing.B) {
	for _, path := range []string{"fast", "tstruct"} {
		b.Run(path, func(b *testing.B) {
			var p any = benchArgs()
			if path == "tstruct" {
				p = slowOnly{p.(*wrapper)}
			}
			msg := &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 1, Payload: p}
			buf := make([]byte, 0, 2048)
			out := encode(b, msg)
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				_ = tc.Codec.Size(msg)
				if _, err := tc.Codec.Append(buf, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	data := encode(b, &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 1, Payload: benchArgs()})
	for _, path := range []string{"fast", "tstruct"} {
		b.Run(path, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var msg codec.Message
			for b.Loop() {
				msg.Reset()
				n, err := tc.Codec.DecodeEnvelope(data, &msg)
				if err != nil {
					b.Fatal(err)
				}
				w := echoArgs(nil)
				msg.Payload = w
				if path == "tstruct" {
					msg.Payload = slowOnly{w}
				}
				if err := tc.Codec.DecodePayload(data[n:], &msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBufferedRead measures the Buffered transport's length finder on
// the 1 KB message, all of it already buffered.
func BenchmarkBufferedRead(b *testing.B) {
	data := encode(b, &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 1, Payload: benchArgs()})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	r := newMemReader(data, 0)
	var msg codec.Message
	for b.Loop() {
		r.pos = 0
		if _, err := tc.Buffered.ReadMessage(r, &msg, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSkip measures Skip over the 1 KB message's struct.
func BenchmarkSkip(b *testing.B) {
	data := benchArgs().FastAppend(nil)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tc.Skip(data, tc.TypeStruct, tc.MaxDepth); err != nil {
			b.Fatal(err)
		}
	}
}
