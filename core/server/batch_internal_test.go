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

// TestFlushesReply: a worker writes its reply unless its batch is
// awaited, and whoever queues a reply writes once earlyReplyBytes are
// queued, batch or not.
func TestFlushesReply(t *testing.T) {
	for _, c := range []struct {
		gen     uint64
		awaited bool
		queued  int
		want    bool
	}{
		{0, false, 100, false},                  // the reading goroutine: serve flushes
		{1, true, 100, false},                   // the batch is awaited
		{1, false, 100, true},                   // a late worker
		{1, true, earlyReplyBytes - 1, false},   // awaited, under the bound
		{1, true, earlyReplyBytes, true},        // awaited, at the bound
		{0, false, earlyReplyBytes + 500, true}, // reading goroutine past the bound
	} {
		if got := flushesReply(c.gen, c.awaited, c.queued); got != c.want {
			t.Errorf("flushesReply(%d, %v, %d) = %v, want %v", c.gen, c.awaited, c.queued, got, c.want)
		}
	}
}
