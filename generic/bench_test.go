package generic_test

import (
	"testing"

	"github.com/skiffrpc/skiff/generic"
)

// BenchmarkThriftJSON measures the conversions of a generic JSON call,
// without the network: the request JSON to the args struct, and the
// result struct back to JSON.
func BenchmarkThriftJSON(b *testing.B) {
	m, err := generic.ThriftJSON(loadIDL(b)).Method("AllTypes", "echo")
	if err != nil {
		b.Fatal(err)
	}
	args, err := m.EncodeRequest(nil, fullJSON)
	if err != nil {
		b.Fatal(err)
	}
	js, _ := m.DecodeRequest(args)
	res, err := m.EncodeResponse(nil, js)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(fullJSON)))
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			if _, err := m.EncodeRequest(buf[:0], fullJSON); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(res)))
		for b.Loop() {
			if _, err := m.DecodeResponse(res); err != nil {
				b.Fatal(err)
			}
		}
	})
}
