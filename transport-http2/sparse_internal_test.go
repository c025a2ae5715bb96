package h2transport

import (
	"testing"
	"time"
)

// TestSparseMessages: messages 100 µs apart are sparse once the average has
// followed them, 10 µs apart they are not, and an idle spell counts as
// one millisecond.
func TestSparseMessages(t *testing.T) {
	lastDataAt.Store(0)
	dataGap.Store(0)
	now := time.Unix(2000, 0)
	step := func(gap time.Duration, n int) (last bool) {
		for i := 0; i < n; i++ {
			now = now.Add(gap)
			last = sparseMessages(now)
		}
		return last
	}
	step(time.Millisecond, 1) // the first gap counts from 1970: capped
	if step(10*time.Microsecond, 100) {
		t.Error("messages 10 µs apart counted as sparse")
	}
	if !step(100*time.Microsecond, 100) {
		t.Error("messages 100 µs apart not counted as sparse")
	}
	if step(10*time.Microsecond, 100) {
		t.Error("still sparse after 100 messages 10 µs apart")
	}
	step(time.Hour, 1)
	if step(10*time.Microsecond, 30) {
		t.Error("an idle spell kept busy messages sparse for 30 more")
	}
}
