package h2transport

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// TestHmemoSameBytesAsEncoder encodes random blocks of repeated and
// changing fields, with table size changes, through the memo and through
// a plain x/net encoder: every block must be byte for byte the same, and
// a decoder must read the fields back.
func TestHmemoSameBytesAsEncoder(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, seed))
			c := &conn{}
			c.henc = hpack.NewEncoder(&c.hbuf)
			var ref bytes.Buffer
			refEnc := hpack.NewEncoder(&ref)
			dec := hpack.NewDecoder(4096, nil)
			fixed := [][2]string{
				{":method", "POST"}, {":scheme", "http"}, {":path", "/grpc.testing.TestService/UnaryCall"},
				{":authority", "127.0.0.1:8888"}, {"content-type", "application/grpc"}, {"te", "trailers"},
				{":status", "200"}, {"grpc-status", "0"}, {"grpc-message", ""}, {"user-agent", "skiff"},
			}
			hits := 0
			for block := 0; block < 400; block++ {
				if r.IntN(50) == 0 {
					size := uint32(r.IntN(4097))
					c.henc.SetMaxDynamicTableSizeLimit(size)
					c.hmemo.invalidate()
					refEnc.SetMaxDynamicTableSizeLimit(size)
				}
				var fields []hpack.HeaderField
				for i := 0; i < 1+r.IntN(8); i++ {
					switch k := r.IntN(12); {
					case k < len(fixed):
						fields = append(fields, hpack.HeaderField{Name: fixed[k][0], Value: fixed[k][1]})
					case k == 10:
						fields = append(fields, hpack.HeaderField{Name: "grpc-timeout", Value: fmt.Sprintf("%dm", r.IntN(1000))})
					default:
						fields = append(fields, hpack.HeaderField{Name: "x-big", Value: string(bytes.Repeat([]byte{'v'}, r.IntN(5000)))})
					}
				}
				c.hbuf.Reset()
				ref.Reset()
				for _, f := range fields {
					before := c.hmemo
					c.writeField(f.Name, f.Value)
					if a, b := before.slots(f.Name, f.Value); before.holds(a, f.Name, f.Value) || before.holds(b, f.Name, f.Value) {
						hits++
					}
					if err := refEnc.WriteField(f); err != nil {
						t.Fatal(err)
					}
				}
				if !bytes.Equal(c.hbuf.Bytes(), ref.Bytes()) {
					t.Fatalf("block %d: memo wrote %x, encoder %x", block, c.hbuf.Bytes(), ref.Bytes())
				}
				got, err := dec.DecodeFull(c.hbuf.Bytes())
				if err != nil {
					t.Fatalf("block %d: %v", block, err)
				}
				if len(got) != len(fields) {
					t.Fatalf("block %d: decoded %d fields, want %d", block, len(got), len(fields))
				}
				for i := range got {
					if got[i].Name != fields[i].Name || got[i].Value != fields[i].Value {
						t.Fatalf("block %d field %d: %q=%q, want %q=%q", block, i, got[i].Name, got[i].Value, fields[i].Name, fields[i].Value)
					}
				}
			}
			if hits == 0 {
				t.Fatal("the memo never hit")
			}
		})
	}
}

// BenchmarkHeaderBlock encodes a gRPC request header block, as every call
// does, through the memo and straight through x/net's encoder.
func BenchmarkHeaderBlock(b *testing.B) {
	fields := [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":path", "/grpc.testing.TestService/UnaryCall"},
		{":authority", "127.0.0.1:8888"}, {"content-type", "application/grpc"}, {"te", "trailers"},
		{"user-agent", "skiff"},
	}
	b.Run("memo", func(b *testing.B) {
		c := &conn{}
		c.henc = hpack.NewEncoder(&c.hbuf)
		b.ReportAllocs()
		for b.Loop() {
			c.hbuf.Reset()
			for _, f := range fields {
				c.writeField(f[0], f[1])
			}
		}
	})
	b.Run("x-net", func(b *testing.B) {
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			for _, f := range fields {
				_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
		}
	})
}

// TestHmemoHitsRepeatedBlock: the fields of a gRPC request and response,
// sent a second time, all come from the memo.
func TestHmemoHitsRepeatedBlock(t *testing.T) {
	fields := [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":path", "/grpc.testing.TestService/UnaryCall"},
		{":authority", "127.0.0.1:8888"}, {"content-type", "application/grpc"}, {"te", "trailers"},
		{"user-agent", "skiff"}, {":status", "200"}, {"grpc-status", "0"}, {"grpc-message", ""},
	}
	c := &conn{}
	c.henc = hpack.NewEncoder(&c.hbuf)
	for range 2 { // the first time inserts, and so forgets
		for _, f := range fields {
			c.writeField(f[0], f[1])
		}
	}
	for _, f := range fields {
		if a, b := c.hmemo.slots(f[0], f[1]); !c.hmemo.holds(a, f[0], f[1]) && !c.hmemo.holds(b, f[0], f[1]) {
			t.Errorf("%s: %s is not remembered", f[0], f[1])
		}
	}
}
