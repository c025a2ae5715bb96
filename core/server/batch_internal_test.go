package server

import (
	"testing"
)

// TestBatchWorth: a read wake-up batches its replies only when the bytes
// it buffered likely hold batchMin requests of the last one's size.
func TestBatchWorth(t *testing.T) {
	for _, c := range []struct {
		buffered, last int
		want           bool
	}{
		{0, 100, false},
		{(batchMin - 1) * 100, 100, false},
		{batchMin * 100, 100, true},
		{1 << 20, 0, false}, // no request read yet
	} {
		if got := batchWorth(c.buffered, c.last); got != c.want {
			t.Errorf("batchWorth(%d, %d) = %v, want %v", c.buffered, c.last, got, c.want)
		}
	}
}
