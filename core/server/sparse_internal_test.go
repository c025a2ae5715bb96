package server

import (
	"testing"
	"time"
)

// TestSparse: wake-ups 100 µs apart are sparse once the average has
// followed them; 10 µs apart they are not, and one long idle spell does
// not make a busy server sparse for more than a few wake-ups.
func TestSparse(t *testing.T) {
	var s Server
	now := time.Unix(1000, 0)
	step := func(gap time.Duration, n int) (last bool) {
		for i := 0; i < n; i++ {
			now = now.Add(gap)
			last = s.sparse(now)
		}
		return last
	}
	if step(10*time.Microsecond, 100) {
		t.Error("wake-ups 10 µs apart counted as sparse")
	}
	if !step(100*time.Microsecond, 100) {
		t.Error("wake-ups 100 µs apart not counted as sparse")
	}
	if step(10*time.Microsecond, 100) {
		t.Error("still sparse after 100 wake-ups 10 µs apart")
	}
	step(time.Hour, 1) // idle: counted as 1 ms
	if step(10*time.Microsecond, 30) {
		t.Error("an idle spell kept a busy server sparse for 30 wake-ups")
	}
}

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
