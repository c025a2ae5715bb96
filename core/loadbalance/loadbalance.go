package loadbalance

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/skiffrpc/skiff/core/discovery"
)

// Picker picks instances from one instance set. Next returns nil when there
// is no instance to pick. Safe for concurrent use.
type Picker interface {
	Next(ctx context.Context) discovery.Instance
}

// Balancer makes pickers. Safe for concurrent use.
type Balancer interface {
	// Name identifies the balancer, such as "weighted_round_robin".
	Name() string
	// Picker returns a picker over res.Instances.
	Picker(res discovery.Result) Picker
}

// NewWeightedRoundRobin returns the smooth weighted round-robin balancer.
// Instances with weight <= 0 are skipped. With equal weights it is plain
// round robin with one atomic increment per pick.
func NewWeightedRoundRobin() Balancer { return wrr{} }

type wrr struct{}

func (wrr) Name() string { return "weighted_round_robin" }

func (wrr) Picker(res discovery.Result) Picker {
	var ins []discovery.Instance
	equal := true
	for _, in := range res.Instances {
		if in.Weight() <= 0 {
			continue
		}
		if len(ins) > 0 && in.Weight() != ins[0].Weight() {
			equal = false
		}
		ins = append(ins, in)
	}
	switch {
	case len(ins) == 0:
		return empty{}
	case len(ins) == 1:
		return single{ins[0]}
	case equal:
		return &roundRobin{ins: ins}
	}
	p := &smooth{ins: ins, current: make([]int, len(ins))}
	for _, in := range ins {
		p.total += in.Weight()
	}
	return p
}

type empty struct{}

func (empty) Next(context.Context) discovery.Instance { return nil }

type single struct{ in discovery.Instance }

func (s single) Next(context.Context) discovery.Instance { return s.in }

type roundRobin struct {
	ins []discovery.Instance
	n   atomic.Uint64
}

func (r *roundRobin) Next(context.Context) discovery.Instance {
	return r.ins[(r.n.Add(1)-1)%uint64(len(r.ins))]
}

// smooth is nginx's smooth weighted round robin: each pick adds every
// weight to its current value, picks the largest, and subtracts the total
// from it.
type smooth struct {
	mu      sync.Mutex
	ins     []discovery.Instance
	current []int
	total   int
}

func (s *smooth) Next(context.Context) discovery.Instance {
	s.mu.Lock()
	best := 0
	for i, in := range s.ins {
		s.current[i] += in.Weight()
		if s.current[i] > s.current[best] {
			best = i
		}
	}
	s.current[best] -= s.total
	s.mu.Unlock()
	return s.ins[best]
}
