package client

import "testing"

// TestHoldWorth: a hold starts only when the bytes buffered behind a
// wake-up's first reply likely hold muxHoldMin replies of its size.
func TestHoldWorth(t *testing.T) {
	for _, c := range []struct {
		buffered, size int
		want           bool
	}{
		{0, 100, false},
		{(muxHoldMin - 2) * 100, 100, false},
		{(muxHoldMin - 1) * 100, 100, true},
		{1 << 20, 100, true},
		{1 << 20, 0, false}, // size unknown
	} {
		if got := holdWorth(c.buffered, c.size); got != c.want {
			t.Errorf("holdWorth(%d, %d) = %v, want %v", c.buffered, c.size, got, c.want)
		}
	}
}

// TestHoldLimit: a hold queues up to half of what the reader had buffered
// when it started, within [muxHoldMinBytes, muxHoldMaxBytes], and a
// request that reaches the limit is no longer held.
func TestHoldLimit(t *testing.T) {
	for _, c := range []struct{ buffered, want int }{
		{0, muxHoldMinBytes},
		{100 << 10, 50 << 10},
		{4 << 20, muxHoldMaxBytes},
	} {
		if got := holdLimit(c.buffered); got != c.want {
			t.Errorf("holdLimit(%d) = %d, want %d", c.buffered, got, c.want)
		}
	}
	mc := &muxConn{}
	mc.hold.on, mc.hold.limit = true, 100
	if _, err := mc.out.Malloc(99); err != nil {
		t.Fatal(err)
	}
	if !mc.heldLocked() {
		t.Error("99 bytes queued under a limit of 100: not held")
	}
	if _, err := mc.out.Malloc(1); err != nil {
		t.Fatal(err)
	}
	if mc.heldLocked() {
		t.Error("100 bytes queued at a limit of 100: still held")
	}
}
