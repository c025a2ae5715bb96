package loadbalance_test

import (
	"context"
	"testing"
	"time"

	lb "github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/loadbalance"
)

// pickers are the balancers measured, each over 10 instances of weights
// 1 to 10 (unequal, so the weighted paths run).
func pickers() []struct {
	name string
	b    lb.Balancer
} {
	return []struct {
		name string
		b    lb.Balancer
	}{
		{"core_wrr", lb.NewWeightedRoundRobin()},
		{"weighted_random", loadbalance.NewWeightedRandom()},
		{"consistent_hash", loadbalance.NewConsistentHash()},
		{"consistent_hash_bounded", loadbalance.NewConsistentHash(loadbalance.WithBoundedLoad(1.25))},
		{"p2c_peak_ewma", loadbalance.NewP2C()},
		{"outlier(wrr)", loadbalance.NewOutlierDetector().Wrap(lb.NewWeightedRoundRobin())},
		{"outlier(p2c_peak_ewma)", loadbalance.NewOutlierDetector().Wrap(loadbalance.NewP2C())},
	}
}

// pickOnce is one pick and, for pickers with feedback, its Done, as the
// client runs them.
func pickOnce(p lb.Picker, fb lb.Feedback, ctx context.Context) {
	in := p.Next(ctx)
	if fb != nil {
		fb.Done(ctx, in, lb.DoneInfo{Latency: time.Millisecond})
	}
}

// A pick (with its Done) allocates nothing, for every balancer (issue 14,
// Show 4).
func TestPickAllocatesNothing(t *testing.T) {
	ctx := keyCtx("user-42")
	for _, c := range pickers() {
		p := c.b.Picker(result(instances(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)...))
		fb, _ := p.(lb.Feedback)
		if n := testing.AllocsPerRun(1000, func() { pickOnce(p, fb, ctx) }); n != 0 {
			t.Errorf("%s: %.1f allocations per pick", c.name, n)
		}
	}
}

func BenchmarkPick(b *testing.B) {
	ctx := keyCtx("user-42")
	for _, c := range pickers() {
		p := c.b.Picker(result(instances(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)...))
		fb, _ := p.(lb.Feedback)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pickOnce(p, fb, ctx)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					pickOnce(p, fb, ctx)
				}
			})
		})
	}
}
