package thrifttest_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	sk "github.com/skiffrpc/skiff/tests/thrifttest/gen/thrifttest"
)

// FuzzFastRead feeds arbitrary bytes to the generated decoders of the
// ThriftTest types with the deepest nesting. They must never panic, and
// whatever they accept must encode with FastAppend to FastSize bytes (as
// many as the TStruct Write writes), which FastRead and the TStruct Read
// decode to equal values. Seeds are
// in testdata/fuzz/FuzzFastRead and the encodings of the wire test values.
func FuzzFastRead(f *testing.F) {
	for _, c := range wireCases() {
		f.Add(c.sk.FastAppend(nil))
	}
	news := []func() skiffStruct{
		func() skiffStruct { return sk.NewCrazyNesting() },
		func() skiffStruct { return sk.NewInsanity() },
		func() skiffStruct { return sk.NewLargeDeltas() },
		func() skiffStruct { return sk.NewSomeUnion() },
		func() skiffStruct { return sk.NewNestedMixedx2() },
		func() skiffStruct { return sk.NewOptionalBinary() },
		func() skiffStruct { return sk.NewStructB() },
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, newV := range news {
			v := newV()
			n, err := v.FastRead(data)
			if err != nil {
				continue
			}
			if n > len(data) {
				t.Fatalf("%T consumed %d of %d bytes", v, n, len(data))
			}
			enc := v.FastAppend(nil)
			if len(enc) != v.FastSize() {
				t.Fatalf("%T: FastSize %d, FastAppend %d", v, v.FastSize(), len(enc))
			}
			if b, err := thrift.NewTSerializer().Write(ctx, v); err != nil || len(b) != len(enc) {
				t.Fatalf("%T: TStruct Write: %d bytes, %v; FastAppend wrote %d", v, len(b), err, len(enc))
			}
			// Both decoders read the re-encoding to the same value.
			fast := newV()
			if _, err := fast.FastRead(enc); err != nil {
				t.Fatalf("%T: re-decoding its own encoding: %v", v, err)
			}
			slow := newV()
			if err := thrift.NewTDeserializer().Read(ctx, slow, enc); err != nil {
				t.Fatalf("%T: TStruct Read of the fast encoding: %v", v, err)
			}
			if !reflect.DeepEqual(fast, slow) && !hasNaN(enc) {
				t.Fatalf("%T: FastRead and Read differ:\n%+v\n%+v", v, fast, slow)
			}
		}
	})
}

// hasNaN is a coarse filter: NaN doubles never compare equal, so a value
// holding one cannot be checked with DeepEqual. Any 8-byte window that is
// a NaN pattern counts.
func hasNaN(b []byte) bool {
	return bytes.Contains(b, []byte{0x7f, 0xf8}) || bytes.Contains(b, []byte{0xff, 0xf8}) ||
		bytes.Contains(b, []byte{0x7f, 0xf0}) || bytes.Contains(b, []byte{0xff, 0xf0})
}
