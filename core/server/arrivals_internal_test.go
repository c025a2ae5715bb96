package server

import (
	"testing"
	"time"
)

// TestArrivals: a message wholly buffered at a note gets that note's
// time; one that was not (or of unknown size) gets now and resets the
// accounting.
func TestArrivals(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	t1 := t0.Add(time.Minute)
	var a arrivals
	a.note(t0, 30) // 30 bytes by t0
	a.note(t1, 50) // 20 more by t1
	a.note(t1, 40) // fewer than accounted for: nothing new
	for i, c := range []struct {
		size int
		want time.Time
	}{{10, t0}, {20, t0}, {5, t1}, {15, t1}} {
		if got := a.take(c.size); !got.Equal(c.want) {
			t.Errorf("take %d: %v, want %v", i, got, c.want)
		}
	}
	if a.n != 0 || a.head != 0 || len(a.segs) != 0 {
		t.Errorf("after taking everything: %+v", a)
	}
	// A message that straddles the last note arrived now.
	a.note(t0, 10)
	if got := a.take(11); time.Since(got) > time.Minute {
		t.Errorf("a message beyond the noted bytes: %v", got)
	}
	if a.n != 0 {
		t.Errorf("not reset: %+v", a)
	}
	// Unknown size: now.
	a.note(t0, 10)
	if got := a.take(0); time.Since(got) > time.Minute {
		t.Errorf("unknown size: %v", got)
	}
	// A message spanning two notes arrived by the later one.
	a.note(t0, 10)
	a.note(t1, 20)
	if got := a.take(15); !got.Equal(t1) {
		t.Errorf("spanning: %v, want %v", got, t1)
	}
	a.reset()
	if a.n != 0 || len(a.segs) != 0 {
		t.Errorf("reset: %+v", a)
	}
}
