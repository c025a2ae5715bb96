package loadbalance_test

import (
	"context"
	"testing"

	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/loadbalance"
)

// Issue 14, Show 2: weights 1:2:7 over 100k picks land within ±1 % (each
// share within one percentage point of 10 %, 20 % and 70 %; the standard
// deviation of a share over 100k picks is at most 0.16 point).
func TestWeightedRandomDistribution(t *testing.T) {
	ins := append(instances(1, 2, 7), discovery.NewInstance("tcp", "10.0.0.9:8888", -1, nil))
	p := loadbalance.NewWeightedRandom().Picker(result(ins...))
	const picks = 100000
	counts := map[string]int{}
	for i := 0; i < picks; i++ {
		counts[p.Next(context.Background()).Address()]++
	}
	for i, want := range []float64{0.1, 0.2, 0.7} {
		got := float64(counts[ins[i].Address()]) / picks
		t.Logf("%s (weight %d): %.2f %% of picks", ins[i].Address(), ins[i].Weight(), 100*got)
		if got < want-0.01 || got > want+0.01 {
			t.Errorf("%s: %.2f %% of picks, want %.0f %% ± 1", ins[i].Address(), 100*got, 100*want)
		}
	}
	if n := counts["10.0.0.9:8888"]; n != 0 {
		t.Errorf("an instance of weight -1 was picked %d times", n)
	}
}

func TestWeightedRandomShapes(t *testing.T) {
	ctx := context.Background()
	b := loadbalance.NewWeightedRandom()
	if b.Name() != "weighted_random" {
		t.Errorf("Name() = %q", b.Name())
	}
	if in := b.Picker(result()).Next(ctx); in != nil {
		t.Errorf("empty set picked %v", in)
	}
	if in := b.Picker(result(instances(-1, -5)...)).Next(ctx); in != nil {
		t.Errorf("set without positive weight picked %v", in)
	}
	one := instances(3)
	if in := b.Picker(result(one...)).Next(ctx); in != one[0] {
		t.Errorf("single instance: picked %v", in)
	}
	// Equal weights: uniform over 4 (each about 25 %).
	eq := instances(5, 5, 5, 5)
	p := b.Picker(result(eq...))
	counts := map[discovery.Instance]int{}
	for i := 0; i < 40000; i++ {
		counts[p.Next(ctx)]++
	}
	for _, in := range eq {
		if c := counts[in]; c < 9000 || c > 11000 {
			t.Errorf("equal weights: %s picked %d times of 40000", in.Address(), c)
		}
	}
}
