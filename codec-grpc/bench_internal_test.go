package grpccodec

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The encode and decode paths of one 1 KB message, without a transport.

func BenchmarkEncode1K(b *testing.B) {
	m := wrapperspb.Bytes(bytes.Repeat([]byte("x"), 1024))
	b.ReportAllocs()
	for b.Loop() {
		bp := getBuf()
		f, err := encodeFrame(*bp, m, "", "")
		if err != nil {
			b.Fatal(err)
		}
		*bp = f[:0]
		putBuf(bp)
	}
}

type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(p []byte) (int, error) {
	if r.off == len(r.data) {
		r.off = 0
	}
	n := copy(p, r.data[r.off:])
	r.off += n
	return n, nil
}

func BenchmarkDecode1K(b *testing.B) {
	m := wrapperspb.Bytes(bytes.Repeat([]byte("x"), 1024))
	f, _ := encodeFrame(nil, m, "", "")
	fr := NewFrameReader(&loopReader{data: f}, 0)
	var out wrapperspb.BytesValue
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		_, p, err := fr.Next()
		if err != nil {
			b.Fatal(err)
		}
		if err := decodePayload(p, &out, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeGzip1K(b *testing.B) {
	m := wrapperspb.Bytes(bytes.Repeat([]byte("x"), 1024))
	b.ReportAllocs()
	for b.Loop() {
		bp := getBuf()
		f, err := encodeFrame(*bp, m, "", encodingGzip)
		if err != nil {
			b.Fatal(err)
		}
		*bp = f[:0]
		putBuf(bp)
	}
}
