package h2transport

import (
	"testing"
	"time"
)

// The estimate grows when a sample fills most of it at the highest
// bandwidth seen, doubles the sample, stops at its limit, and a ping goes
// out only while none is outstanding and the limit is not reached.
func TestBDPEstimator(t *testing.T) {
	b := newBDPEstimator(65535, 1<<20)
	t0 := time.Unix(0, 0)
	if !b.add(1000, t0) {
		t.Fatal("first DATA: no ping")
	}
	if b.add(1000, t0) {
		t.Fatal("ping sent while one is outstanding")
	}
	// 2,000 bytes in a round trip: far below the estimate, no growth.
	if n := b.acked(t0.Add(time.Millisecond)); n != 0 {
		t.Fatalf("small sample grew the estimate to %d", n)
	}
	// 60,000 bytes in the same round trip: above 0.66 x 65535, growth.
	b.add(30000, t0)
	b.add(30000, t0)
	if n := b.acked(t0.Add(time.Millisecond)); n != 120000 {
		t.Fatalf("estimate %d, want twice the sample (120000)", n)
	}
	// A large sample at a lower bandwidth (a much longer round trip) does
	// not grow it.
	b.add(100000, t0)
	if n := b.acked(t0.Add(200 * time.Millisecond)); n != 0 {
		t.Fatalf("slower sample grew the estimate to %d", n)
	}
	// Growth stops at the limit; then no more pings.
	for i := 0; i < 500 && b.bdp < b.limit; i++ { // the slow sample lingers in the mean RTT
		b.add(b.bdp, t0)
		b.acked(t0.Add(time.Microsecond))
	}
	if b.bdp != 1<<20 {
		t.Fatalf("estimate %d, want the limit", b.bdp)
	}
	if b.add(1000, t0) {
		t.Fatal("ping at the limit")
	}
	if n := b.acked(t0); n != 0 {
		t.Fatalf("ACK without a ping outstanding gave %d", n)
	}
}
