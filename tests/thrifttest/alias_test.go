package thrifttest_test

import (
	"reflect"
	"testing"

	sk "github.com/skiffrpc/skiff/tests/thrifttest/gen/thrifttest"
)

// TestFastReadDoesNotAlias: after FastRead the input buffer can be reused;
// FastReadAliased (the zero-copy opt-in) decodes the same value but points
// into its input.
func TestFastReadDoesNotAlias(t *testing.T) {
	want := &sk.CrazyNesting{StringField: "crazy", SetField: []*sk.Insanity{skInsanity()},
		ListField:   []map[int32]map[int32][][]map[int32]string{{1: {2: {{{3: "three"}}}}}},
		BinaryField: []byte{0, 1, 2, 255}}
	buf := want.FastAppend(nil)

	got := sk.NewCrazyNesting()
	if _, err := got.FastRead(buf); err != nil {
		t.Fatal(err)
	}
	aliased := sk.NewCrazyNesting()
	if _, err := aliased.FastReadAliased(buf); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(aliased, want) {
		t.Fatalf("FastReadAliased = %+v", aliased)
	}
	// An append to a decoded binary must not reach the bytes after it.
	_ = append(aliased.BinaryField, 'x')
	for i := range buf {
		buf[i] = 'Z'
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FastRead value changed with its input: %+v", got)
	}
	if aliased.StringField == want.StringField {
		t.Errorf("FastReadAliased value did not follow its input")
	}
}
