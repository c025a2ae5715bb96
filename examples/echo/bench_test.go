package echo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/echo/internal/apacheecho"
)

// benchRequest is a 1 KB Echo call: a 900-byte message, a sequence number,
// one extra entry and a 64-byte blob.
func benchRequest() *echo.EchoServiceEchoArgs {
	return &echo.EchoServiceEchoArgs{Req: &echo.EchoRequest{
		Message: strings.Repeat("a", 900),
		Seq:     ptr[int64](42),
		Extra:   map[string]string{"trace": "0123456789abcdef"},
		Blob:    make([]byte, 64),
	}}
}

// BenchmarkEncode encodes the 1 KB Echo call as a whole message: fast path,
// this package's TStruct path, and Apache Thrift's generated code.
func BenchmarkEncode(b *testing.B) {
	args := benchRequest()
	apache := &apacheecho.EchoServiceEchoArgs{Req: toApacheRequest(args.Req)}
	for _, tt := range []struct {
		name    string
		payload any
	}{
		{"fast", args},
		{"tstruct", struct{ thrift.TStruct }{args}},
		{"apache-generated", apache},
	} {
		b.Run(tt.name, func(b *testing.B) {
			msg := &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 1, Payload: tt.payload}
			buf := make([]byte, 0, 2048)
			out, _ := thriftcodec.Codec.Append(nil, msg)
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				_ = thriftcodec.Codec.Size(msg)
				if _, err := thriftcodec.Codec.Append(buf, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode decodes the 1 KB Echo call: fast path, this package's
// TStruct path, and Apache Thrift's generated code.
func BenchmarkDecode(b *testing.B) {
	data, _ := thriftcodec.Codec.Append(nil, &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 1, Payload: benchRequest()})
	for _, tt := range []struct {
		name string
		new  func() any
	}{
		{"fast", func() any { return &echo.EchoServiceEchoArgs{} }},
		{"tstruct", func() any { return struct{ thrift.TStruct }{&echo.EchoServiceEchoArgs{}} }},
		{"apache-generated", func() any { return &apacheecho.EchoServiceEchoArgs{} }},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var msg codec.Message
			for b.Loop() {
				msg.Reset()
				n, err := thriftcodec.Codec.DecodeEnvelope(data, &msg)
				if err != nil {
					b.Fatal(err)
				}
				msg.Payload = tt.new()
				if err := thriftcodec.Codec.DecodePayload(data[n:], &msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApacheSerializer is the plain Apache Thrift way (TSerializer and
// TDeserializer over generated code), for comparison.
func BenchmarkApacheSerializer(b *testing.B) {
	args := benchRequest()
	apache := &apacheecho.EchoServiceEchoArgs{Req: toApacheRequest(args.Req)}
	ctx := context.Background()
	b.Run("encode", func(b *testing.B) {
		s := thrift.NewTSerializer()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Write(ctx, apache); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		data, _ := thrift.NewTSerializer().Write(ctx, apache)
		d := thrift.NewTDeserializer()
		b.ReportAllocs()
		for b.Loop() {
			if err := d.Read(ctx, &apacheecho.EchoServiceEchoArgs{}, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
