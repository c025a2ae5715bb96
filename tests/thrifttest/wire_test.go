package thrifttest_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	ap "github.com/skiffrpc/skiff/tests/thrifttest/apache/thrifttest"
	sk "github.com/skiffrpc/skiff/tests/thrifttest/gen/thrifttest"
)

// skiffStruct is what skiff generates for every IDL struct.
type skiffStruct interface {
	thriftcodec.FastCodec
	thrift.TStruct
}

// wireCase is one value of an IDL type built twice: with Skiff's generated
// type and with Apache Thrift's. Maps have at most one entry so that both
// encodings are deterministic.
type wireCase struct {
	name   string
	sk     skiffStruct
	ap     thrift.TStruct
	newSk  func() skiffStruct
	newAp  func() thrift.TStruct
	noByte bool // maps with several entries: compare decoded values only
}

func ptr[T any](v T) *T { return &v }

func skXtruct(s string, i int32) *sk.Xtruct {
	return &sk.Xtruct{StringThing: s, ByteThing: 1, I32Thing: i, I64Thing: -int64(i) << 33}
}

func apXtruct(s string, i int32) *ap.Xtruct {
	return &ap.Xtruct{StringThing: s, ByteThing: 1, I32Thing: i, I64Thing: -int64(i) << 33}
}

func skInsanity() *sk.Insanity {
	return &sk.Insanity{UserMap: map[sk.Numberz]int64{sk.Numberz_FIVE: 5}, Xtructs: []*sk.Xtruct{skXtruct("a", 1), skXtruct("b", 2)}}
}

func apInsanity() *ap.Insanity {
	return &ap.Insanity{UserMap: map[ap.Numberz]ap.UserId{ap.Numberz_FIVE: 5}, Xtructs: []*ap.Xtruct{apXtruct("a", 1), apXtruct("b", 2)}}
}

func skV2() *sk.VersioningTestV2 {
	return &sk.VersioningTestV2{BeginInBoth: 1, Newint: 2, Newbyte: 3, Newshort: 4, Newlong: 5, Newdouble: 6.5,
		Newstruct: &sk.Bonk{Message: "m", Type: 7}, Newlist: []int32{8, 9}, Newset: []int32{10}, Newmap: map[int32]int32{11: 12},
		Newstring: "s", EndInBoth: 13}
}

func apV2() *ap.VersioningTestV2 {
	return &ap.VersioningTestV2{BeginInBoth: 1, Newint_: 2, Newbyte_: 3, Newshort_: 4, Newlong_: 5, Newdouble_: 6.5,
		Newstruct_: &ap.Bonk{Message: "m", Type: 7}, Newlist_: []int32{8, 9}, Newset_: []int32{10}, Newmap_: map[int32]int32{11: 12},
		Newstring_: "s", EndInBoth: 13}
}

func wireCases() []wireCase {
	c := func(name string, s skiffStruct, a thrift.TStruct, ns func() skiffStruct, na func() thrift.TStruct) wireCase {
		return wireCase{name: name, sk: s, ap: a, newSk: ns, newAp: na}
	}
	return []wireCase{
		c("Bonk", &sk.Bonk{Message: "hello", Type: -3}, &ap.Bonk{Message: "hello", Type: -3},
			func() skiffStruct { return sk.NewBonk() }, func() thrift.TStruct { return ap.NewBonk() }),
		c("Bools", &sk.Bools{ImTrue: true}, &ap.Bools{ImTrue: true},
			func() skiffStruct { return sk.NewBools() }, func() thrift.TStruct { return ap.NewBools() }),
		c("Xtruct", skXtruct("x", 77), apXtruct("x", 77),
			func() skiffStruct { return sk.NewXtruct() }, func() thrift.TStruct { return ap.NewXtruct() }),
		c("Xtruct2", &sk.Xtruct2{ByteThing: -1, StructThing: skXtruct("y", 3), I32Thing: 1 << 30},
			&ap.Xtruct2{ByteThing: -1, StructThing: apXtruct("y", 3), I32Thing: 1 << 30},
			func() skiffStruct { return sk.NewXtruct2() }, func() thrift.TStruct { return ap.NewXtruct2() }),
		c("Xtruct3", &sk.Xtruct3{StringThing: "z", Changed: 1, I32Thing: 2, I64Thing: 3},
			&ap.Xtruct3{StringThing: "z", Changed: 1, I32Thing: 2, I64Thing: 3},
			func() skiffStruct { return sk.NewXtruct3() }, func() thrift.TStruct { return ap.NewXtruct3() }),
		c("Insanity", skInsanity(), apInsanity(),
			func() skiffStruct { return sk.NewInsanity() }, func() thrift.TStruct { return ap.NewInsanity() }),
		c("CrazyNesting",
			&sk.CrazyNesting{StringField: "crazy", SetField: []*sk.Insanity{skInsanity()},
				ListField:   []map[int32]map[int32][][]map[int32]string{{1: {2: {{{3: "three"}}}}}},
				BinaryField: []byte{0, 1, 2, 255}},
			&ap.CrazyNesting{StringField: "crazy", SetField: []*ap.Insanity{apInsanity()},
				ListField:   []map[int32]map[int32][][]map[int32]string{{1: {2: {{{3: "three"}}}}}},
				BinaryField: []byte{0, 1, 2, 255}},
			func() skiffStruct { return sk.NewCrazyNesting() }, func() thrift.TStruct { return ap.NewCrazyNesting() }),
		c("SomeUnion/string", &sk.SomeUnion{StringThing: ptr("u")}, &ap.SomeUnion{StringThing: ptr("u")},
			func() skiffStruct { return sk.NewSomeUnion() }, func() thrift.TStruct { return ap.NewSomeUnion() }),
		c("SomeUnion/map", &sk.SomeUnion{MapThing: map[sk.Numberz]int64{sk.Numberz_TWO: 2}},
			&ap.SomeUnion{MapThing: map[ap.Numberz]ap.UserId{ap.Numberz_TWO: 2}},
			func() skiffStruct { return sk.NewSomeUnion() }, func() thrift.TStruct { return ap.NewSomeUnion() }),
		c("SomeUnion/insanity", &sk.SomeUnion{InsanityThing: skInsanity()}, &ap.SomeUnion{InsanityThing: apInsanity()},
			func() skiffStruct { return sk.NewSomeUnion() }, func() thrift.TStruct { return ap.NewSomeUnion() }),
		c("Xception", &sk.Xception{ErrorCode: 1001, Message: "boom"}, &ap.Xception{ErrorCode: 1001, Message: "boom"},
			func() skiffStruct { return sk.NewXception() }, func() thrift.TStruct { return ap.NewXception() }),
		c("Xception2", &sk.Xception2{ErrorCode: 2002, StructThing: skXtruct("e", 1)},
			&ap.Xception2{ErrorCode: 2002, StructThing: apXtruct("e", 1)},
			func() skiffStruct { return sk.NewXception2() }, func() thrift.TStruct { return ap.NewXception2() }),
		c("EmptyStruct", &sk.EmptyStruct{}, &ap.EmptyStruct{},
			func() skiffStruct { return sk.NewEmptyStruct() }, func() thrift.TStruct { return ap.NewEmptyStruct() }),
		c("OneField", &sk.OneField{Field: &sk.EmptyStruct{}}, &ap.OneField{Field: &ap.EmptyStruct{}},
			func() skiffStruct { return sk.NewOneField() }, func() thrift.TStruct { return ap.NewOneField() }),
		c("VersioningTestV1", &sk.VersioningTestV1{BeginInBoth: 1, OldString: "old", EndInBoth: 2},
			&ap.VersioningTestV1{BeginInBoth: 1, OldString: "old", EndInBoth: 2},
			func() skiffStruct { return sk.NewVersioningTestV1() }, func() thrift.TStruct { return ap.NewVersioningTestV1() }),
		c("VersioningTestV2", skV2(), apV2(),
			func() skiffStruct { return sk.NewVersioningTestV2() }, func() thrift.TStruct { return ap.NewVersioningTestV2() }),
		c("ListTypeVersioningV1", &sk.ListTypeVersioningV1{Myints: []int32{1, 2, 3}, Hello: "hi"},
			&ap.ListTypeVersioningV1{Myints: []int32{1, 2, 3}, Hello: "hi"},
			func() skiffStruct { return sk.NewListTypeVersioningV1() }, func() thrift.TStruct { return ap.NewListTypeVersioningV1() }),
		c("ListTypeVersioningV2", &sk.ListTypeVersioningV2{Strings: []string{"a", ""}, Hello: "hi"},
			&ap.ListTypeVersioningV2{Strings: []string{"a", ""}, Hello: "hi"},
			func() skiffStruct { return sk.NewListTypeVersioningV2() }, func() thrift.TStruct { return ap.NewListTypeVersioningV2() }),
		c("GuessProtocolStruct", &sk.GuessProtocolStruct{MapField: map[string]string{"k": "v"}},
			&ap.GuessProtocolStruct{MapField: map[string]string{"k": "v"}},
			func() skiffStruct { return sk.NewGuessProtocolStruct() }, func() thrift.TStruct { return ap.NewGuessProtocolStruct() }),
		c("LargeDeltas",
			&sk.LargeDeltas{B1: &sk.Bools{ImTrue: true}, B10: &sk.Bools{}, B100: &sk.Bools{ImFalse: true}, CheckTrue: true,
				B1000: &sk.Bools{}, Vertwo2000: skV2(), ASet2500: []string{"x", "y"}, Vertwo3000: skV2(), BigNumbers: []int32{1 << 30, -1}},
			&ap.LargeDeltas{B1: &ap.Bools{ImTrue: true}, B10: &ap.Bools{}, B100: &ap.Bools{ImFalse: true}, CheckTrue: true,
				B1000: &ap.Bools{}, Vertwo2000: apV2(), ASet2500: []string{"x", "y"}, Vertwo3000: apV2(), BigNumbers: []int32{1 << 30, -1}},
			func() skiffStruct { return sk.NewLargeDeltas() }, func() thrift.TStruct { return ap.NewLargeDeltas() }),
		c("NestedListsI32x2", &sk.NestedListsI32x2{Integerlist: [][]int32{{1}, {}, {2, 3}}},
			&ap.NestedListsI32x2{Integerlist: [][]int32{{1}, {}, {2, 3}}},
			func() skiffStruct { return sk.NewNestedListsI32x2() }, func() thrift.TStruct { return ap.NewNestedListsI32x2() }),
		c("NestedListsI32x3", &sk.NestedListsI32x3{Integerlist: [][][]int32{{{1}, {2, 3}}, {}}},
			&ap.NestedListsI32x3{Integerlist: [][][]int32{{{1}, {2, 3}}, {}}},
			func() skiffStruct { return sk.NewNestedListsI32x3() }, func() thrift.TStruct { return ap.NewNestedListsI32x3() }),
		c("NestedMixedx2",
			&sk.NestedMixedx2{IntSetList: [][]int32{{1, 2}}, MapIntStrset: map[int32][]string{1: {"a", "b"}},
				MapIntStrsetList: []map[int32][]string{{2: {"c"}}, {}}},
			&ap.NestedMixedx2{IntSetList: [][]int32{{1, 2}}, MapIntStrset: map[int32][]string{1: {"a", "b"}},
				MapIntStrsetList: []map[int32][]string{{2: {"c"}}, {}}},
			func() skiffStruct { return sk.NewNestedMixedx2() }, func() thrift.TStruct { return ap.NewNestedMixedx2() }),
		c("ListBonks", &sk.ListBonks{Bonk: []*sk.Bonk{{Message: "a"}, {Type: 1}}},
			&ap.ListBonks{Bonk: []*ap.Bonk{{Message: "a"}, {Type: 1}}},
			func() skiffStruct { return sk.NewListBonks() }, func() thrift.TStruct { return ap.NewListBonks() }),
		c("NestedListsBonk", &sk.NestedListsBonk{Bonk: [][][]*sk.Bonk{{{{Message: "deep"}}}}},
			&ap.NestedListsBonk{Bonk: [][][]*ap.Bonk{{{{Message: "deep"}}}}},
			func() skiffStruct { return sk.NewNestedListsBonk() }, func() thrift.TStruct { return ap.NewNestedListsBonk() }),
		c("BoolTest/default", sk.NewBoolTest(), ap.NewBoolTest(),
			func() skiffStruct { return sk.NewBoolTest() }, func() thrift.TStruct { return ap.NewBoolTest() }),
		c("BoolTest/set", &sk.BoolTest{B: false, S: "false"}, &ap.BoolTest{B: false, S: "false"},
			func() skiffStruct { return sk.NewBoolTest() }, func() thrift.TStruct { return ap.NewBoolTest() }),
		c("StructA", &sk.StructA{S: "a"}, &ap.StructA{S: "a"},
			func() skiffStruct { return sk.NewStructA() }, func() thrift.TStruct { return ap.NewStructA() }),
		c("StructB", &sk.StructB{Aa: &sk.StructA{S: "1"}, Ab: &sk.StructA{S: "2"}},
			&ap.StructB{Aa: &ap.StructA{S: "1"}, Ab: &ap.StructA{S: "2"}},
			func() skiffStruct { return sk.NewStructB() }, func() thrift.TStruct { return ap.NewStructB() }),
		c("OptionalSetDefaultTest/unset", sk.NewOptionalSetDefaultTest(), ap.NewOptionalSetDefaultTest(),
			func() skiffStruct { return sk.NewOptionalSetDefaultTest() }, func() thrift.TStruct { return ap.NewOptionalSetDefaultTest() }),
		c("OptionalSetDefaultTest/set", &sk.OptionalSetDefaultTest{WithDefault: []string{"x"}},
			&ap.OptionalSetDefaultTest{WithDefault: &[]string{"x"}},
			func() skiffStruct { return sk.NewOptionalSetDefaultTest() }, func() thrift.TStruct { return ap.NewOptionalSetDefaultTest() }),
		c("OptionalBinary", &sk.OptionalBinary{BinSet: [][]byte{{1, 2}}, BinMap: map[string]int32{"\x00\xff": 3}},
			&ap.OptionalBinary{BinSet: &[][]byte{{1, 2}}, BinMap: &map[string]int32{"\x00\xff": 3}},
			func() skiffStruct { return sk.NewOptionalBinary() }, func() thrift.TStruct { return ap.NewOptionalBinary() }),
		{name: "Insanity/many", noByte: true,
			sk:    &sk.Insanity{UserMap: map[sk.Numberz]int64{sk.Numberz_ONE: 1, sk.Numberz_TWO: 2, sk.Numberz_EIGHT: 8}, Xtructs: []*sk.Xtruct{}},
			ap:    &ap.Insanity{UserMap: map[ap.Numberz]ap.UserId{ap.Numberz_ONE: 1, ap.Numberz_TWO: 2, ap.Numberz_EIGHT: 8}, Xtructs: []*ap.Xtruct{}},
			newSk: func() skiffStruct { return sk.NewInsanity() }, newAp: func() thrift.TStruct { return ap.NewInsanity() }},
	}
}

// TestWireCompat checks, for every ThriftTest type, that Skiff's fast codec
// and its TStruct Write produce exactly Apache Thrift's bytes (Binary
// protocol), and that each side decodes the other's bytes to an equal value.
func TestWireCompat(t *testing.T) {
	ctx := context.Background()
	for _, c := range wireCases() {
		t.Run(c.name, func(t *testing.T) {
			apBytes, err := thrift.NewTSerializer().Write(ctx, c.ap)
			if err != nil {
				t.Fatalf("apache encode: %v", err)
			}
			size := c.sk.FastSize()
			fast := c.sk.FastAppend(make([]byte, 0, size))
			if len(fast) != size {
				t.Errorf("FastSize %d, FastAppend wrote %d bytes", size, len(fast))
			}
			slow, err := thrift.NewTSerializer().Write(ctx, c.sk)
			if err != nil {
				t.Fatalf("skiff TStruct encode: %v", err)
			}
			if len(slow) != len(fast) {
				t.Errorf("FastAppend wrote %d bytes, Write %d", len(fast), len(slow))
			}
			if !c.noByte && !bytes.Equal(fast, slow) {
				t.Errorf("FastAppend and Write differ:\nfast %x\nslow %x", fast, slow)
			}
			if !c.noByte && !bytes.Equal(fast, apBytes) {
				t.Errorf("skiff and apache encodings differ:\nskiff  %x\napache %x", fast, apBytes)
			}

			// Skiff decodes Apache's bytes, fast and slow.
			got := c.newSk()
			n, err := got.FastRead(apBytes)
			if err != nil || n != len(apBytes) {
				t.Fatalf("FastRead(apache bytes) = %d, %v; want %d", n, err, len(apBytes))
			}
			if !reflect.DeepEqual(got, c.sk) {
				t.Errorf("FastRead(apache bytes) = %+v, want %+v", got, c.sk)
			}
			got = c.newSk()
			if err := thrift.NewTDeserializer().Read(ctx, got, apBytes); err != nil {
				t.Fatalf("skiff Read(apache bytes): %v", err)
			}
			if !reflect.DeepEqual(got, c.sk) {
				t.Errorf("Read(apache bytes) = %+v, want %+v", got, c.sk)
			}

			// Apache decodes Skiff's bytes.
			gotAp := c.newAp()
			if err := thrift.NewTDeserializer().Read(ctx, gotAp, fast); err != nil {
				t.Fatalf("apache Read(skiff bytes): %v", err)
			}
			if !reflect.DeepEqual(gotAp, c.ap) {
				t.Errorf("apache Read(skiff bytes) = %+v, want %+v", gotAp, c.ap)
			}
		})
	}
}
