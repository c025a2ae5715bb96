package conn_test

import (
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/conn"
)

// TestSparse: events 100 µs apart are sparse at a 70 µs gap once the
// average has followed them; 10 µs apart they are not; an idle spell
// counts as one millisecond; a clock step back counts as no gap.
func TestSparse(t *testing.T) {
	var s conn.Sparse
	now := time.Unix(1000, 0)
	step := func(gap time.Duration, n int) (last bool) {
		for i := 0; i < n; i++ {
			now = now.Add(gap)
			last = s.Note(now, 70*time.Microsecond)
		}
		return last
	}
	if step(10*time.Microsecond, 100) {
		t.Error("events 10 µs apart counted as sparse")
	}
	if !step(100*time.Microsecond, 100) {
		t.Error("events 100 µs apart not counted as sparse")
	}
	if step(10*time.Microsecond, 100) {
		t.Error("still sparse after 100 events 10 µs apart")
	}
	step(time.Hour, 1)
	if step(10*time.Microsecond, 30) {
		t.Error("an idle spell kept busy events sparse for 30 more")
	}
	step(-time.Hour, 1)
	if step(10*time.Microsecond, 30) {
		t.Error("a clock step back made busy events sparse")
	}
}
