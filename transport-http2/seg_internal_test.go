package h2transport

import "testing"

// A segment taken from the pool and given back costs no allocation once
// the pools are warm: the box of a taken segment carries the next one put
// back (before segBoxes, every put allocated a new box).
func TestSegmentRecycleAllocs(t *testing.T) {
	if raceBuild {
		t.Skip("the race detector drops pooled items at random")
	}
	allocs := testing.AllocsPerRun(1000, func() {
		b := getSeg()
		if cap(b) != wsegSize || len(b) != 0 {
			t.Fatalf("segment of len %d cap %d", len(b), cap(b))
		}
		putSeg(append(b, 1, 2, 3))
	})
	if allocs != 0 {
		t.Errorf("%v allocations per segment taken and given back, want 0", allocs)
	}
}
