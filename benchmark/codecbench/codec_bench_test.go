package codecbench_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	ap "github.com/skiffrpc/skiff/benchmark/codecbench/apache/codecbench"
	kx "github.com/skiffrpc/skiff/benchmark/codecbench/kitex_gen/codecbench"
	sk "github.com/skiffrpc/skiff/benchmark/codecbench/skiff/codecbench"
)

// The order: 10 items with 3 tags and 3 attributes each, 4 counters (a map
// with more than one entry: encodings are compared after decoding), a
// nested address, 256 bytes of payload, 5 flags and 3 past addresses. About
// 2 KB encoded.
const (
	nItems    = 10
	nHistory  = 3
	nCounters = 4
)

func skOrder() *sk.Order {
	o := &sk.Order{Id: 1 << 40, Customer: "ACME Corporation, Ltd.", Counters: map[string]int64{},
		ShipTo: &sk.Address{Street: "1 Infinite Loop", City: "Cupertino", Zip: "95014", Country: ptr("US")},
		Note:   ptr("leave at the door"), Payload: bytes.Repeat([]byte{0xab}, 256),
		Flags: []int32{1, 2, 3, 5, 8}, Paid: true}
	for i := range nItems {
		o.Items = append(o.Items, &sk.Item{Id: int64(i), Name: fmt.Sprintf("item number %d", i), Price: 9.99 * float64(i),
			Quantity: int32(i), Tags: []string{"red", "large", "sale"},
			Attrs: map[string]string{"color": "red", "size": "L", "sku": fmt.Sprintf("SKU-%06d", i)}})
	}
	for i := range nCounters {
		o.Counters[fmt.Sprintf("counter-%d", i)] = int64(i) << 20
	}
	for i := range nHistory {
		o.History = append(o.History, &sk.Address{Street: fmt.Sprintf("%d Main Street", i), City: "Springfield", Zip: "12345"})
	}
	return o
}

func kxOrder() *kx.Order {
	o := &kx.Order{Id: 1 << 40, Customer: "ACME Corporation, Ltd.", Counters: map[string]int64{},
		ShipTo: &kx.Address{Street: "1 Infinite Loop", City: "Cupertino", Zip: "95014", Country: ptr("US")},
		Note:   ptr("leave at the door"), Payload: bytes.Repeat([]byte{0xab}, 256),
		Flags: []int32{1, 2, 3, 5, 8}, Paid: true}
	for i := range nItems {
		o.Items = append(o.Items, &kx.Item{Id: int64(i), Name: fmt.Sprintf("item number %d", i), Price: 9.99 * float64(i),
			Quantity: int32(i), Tags: []string{"red", "large", "sale"},
			Attrs: map[string]string{"color": "red", "size": "L", "sku": fmt.Sprintf("SKU-%06d", i)}})
	}
	for i := range nCounters {
		o.Counters[fmt.Sprintf("counter-%d", i)] = int64(i) << 20
	}
	for i := range nHistory {
		o.History = append(o.History, &kx.Address{Street: fmt.Sprintf("%d Main Street", i), City: "Springfield", Zip: "12345"})
	}
	return o
}

func apOrder() *ap.Order {
	o := &ap.Order{ID: 1 << 40, Customer: "ACME Corporation, Ltd.", Counters: map[string]int64{},
		ShipTo: &ap.Address{Street: "1 Infinite Loop", City: "Cupertino", Zip: "95014", Country: ptr("US")},
		Note:   ptr("leave at the door"), Payload: bytes.Repeat([]byte{0xab}, 256),
		Flags: []int32{1, 2, 3, 5, 8}, Paid: true}
	for i := range nItems {
		o.Items = append(o.Items, &ap.Item{ID: int64(i), Name: fmt.Sprintf("item number %d", i), Price: 9.99 * float64(i),
			Quantity: int32(i), Tags: []string{"red", "large", "sale"},
			Attrs: map[string]string{"color": "red", "size": "L", "sku": fmt.Sprintf("SKU-%06d", i)}})
	}
	for i := range nCounters {
		o.Counters[fmt.Sprintf("counter-%d", i)] = int64(i) << 20
	}
	for i := range nHistory {
		o.History = append(o.History, &ap.Address{Street: fmt.Sprintf("%d Main Street", i), City: "Springfield", Zip: "12345"})
	}
	return o
}

func ptr[T any](v T) *T { return &v }

// TestSameOrder checks that the three codecs agree: each decodes the
// others' encodings to its own value, and the encodings have one length.
func TestSameOrder(t *testing.T) {
	ctx := context.Background()
	s, k, a := skOrder(), kxOrder(), apOrder()
	sb := s.FastAppend(make([]byte, 0, s.FastSize()))
	kb := make([]byte, k.BLength())
	k.FastWrite(kb)
	ab, err := thrift.NewTSerializer().Write(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(sb) != len(kb) || len(sb) != len(ab) {
		t.Fatalf("lengths: skiff %d, kitex %d, apache %d", len(sb), len(kb), len(ab))
	}
	for name, b := range map[string][]byte{"kitex": kb, "apache": ab} {
		got := &sk.Order{}
		if _, err := got.FastRead(b); err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("skiff decoding %s's bytes: %v", name, err)
		}
	}
	gotK := &kx.Order{}
	if _, err := gotK.FastRead(sb); err != nil || !reflect.DeepEqual(gotK, k) {
		t.Errorf("kitex decoding skiff's bytes: %v", err)
	}
	gotA := &ap.Order{}
	if err := thrift.NewTDeserializer().Read(ctx, gotA, sb); err != nil || !reflect.DeepEqual(gotA, a) {
		t.Errorf("apache decoding skiff's bytes: %v", err)
	}
}

// Encode: each codec encodes into a new buffer of the exact size, as an
// RPC framework hands a struct to the wire.

func BenchmarkEncodeSkiff(b *testing.B) {
	o := skOrder()
	b.SetBytes(int64(o.FastSize()))
	b.ReportAllocs()
	for b.Loop() {
		buf := o.FastAppend(make([]byte, 0, o.FastSize()))
		_ = buf
	}
}

func BenchmarkEncodeKitex(b *testing.B) {
	o := kxOrder()
	b.SetBytes(int64(o.BLength()))
	b.ReportAllocs()
	for b.Loop() {
		buf := make([]byte, o.BLength())
		o.FastWrite(buf)
	}
}

func BenchmarkEncodeApache(b *testing.B) {
	o := apOrder()
	ctx := context.Background()
	ser := thrift.NewTSerializer()
	n, _ := ser.Write(ctx, o)
	b.SetBytes(int64(len(n)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ser.Write(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
}

// Decode: each codec decodes the same bytes into a new struct; strings and
// binaries are copied by all three.

func BenchmarkDecodeSkiff(b *testing.B) {
	o := skOrder()
	data := o.FastAppend(nil)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v sk.Order
		if _, err := v.FastRead(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSkiffAliased is the zero-copy opt-in: strings and
// binaries point into the input, which the caller owns.
func BenchmarkDecodeSkiffAliased(b *testing.B) {
	o := skOrder()
	data := o.FastAppend(nil)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v sk.Order
		if _, err := v.FastReadAliased(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeKitex(b *testing.B) {
	o := kxOrder()
	data := make([]byte, o.BLength())
	o.FastWrite(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v kx.Order
		if _, err := v.FastRead(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeApache(b *testing.B) {
	o := apOrder()
	ctx := context.Background()
	data, _ := thrift.NewTSerializer().Write(ctx, o)
	de := thrift.NewTDeserializer()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v ap.Order
		if err := de.Read(ctx, &v, data); err != nil {
			b.Fatal(err)
		}
	}
}

// EncodeReuse: each codec encodes into a buffer it reuses, as a transport
// with its own buffers does (Skiff's writers hand the codec memory of
// FastSize bytes): this is the codec's own cost, without the allocation of
// the output.

func BenchmarkEncodeReuseSkiff(b *testing.B) {
	o := skOrder()
	buf := make([]byte, 0, o.FastSize())
	b.SetBytes(int64(o.FastSize()))
	b.ReportAllocs()
	for b.Loop() {
		n := o.FastSize()
		if cap(buf) < n {
			buf = make([]byte, 0, n)
		}
		buf = o.FastAppend(buf[:0])
	}
}

func BenchmarkEncodeReuseKitex(b *testing.B) {
	o := kxOrder()
	buf := make([]byte, o.BLength())
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		n := o.BLength()
		if len(buf) < n {
			buf = make([]byte, n)
		}
		o.FastWrite(buf[:n])
	}
}

func BenchmarkEncodeReuseApache(b *testing.B) {
	o := apOrder()
	ctx := context.Background()
	mem := thrift.NewTMemoryBufferLen(4096)
	proto := thrift.NewTBinaryProtocolConf(mem, nil)
	if err := o.Write(ctx, proto); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(mem.Len()))
	b.ReportAllocs()
	for b.Loop() {
		mem.Reset()
		if err := o.Write(ctx, proto); err != nil {
			b.Fatal(err)
		}
		if err := proto.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
