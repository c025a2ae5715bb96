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
