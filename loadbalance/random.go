package loadbalance

import (
	"context"
	"math/rand/v2"

	"github.com/skiffrpc/skiff/core/discovery"
	lb "github.com/skiffrpc/skiff/core/loadbalance"
)

// NewWeightedRandom returns a balancer that picks each instance at random
// with a probability proportional to its weight. Instances with weight
// <= 0 get no traffic. The picker is built with Vose's alias method when
// the instance set changes, so a pick costs one random number and one
// table look-up whatever the number of instances and weights (O(1), no
// lock, no allocation); with equal weights it is a plain uniform pick.
// The balancer keeps no state: one value may serve any number of clients.
func NewWeightedRandom() lb.Balancer { return weightedRandom{} }

type weightedRandom struct{}

// Name returns "weighted_random".
func (weightedRandom) Name() string { return "weighted_random" }

// Picker returns a picker over the instances of res with positive weight.
func (weightedRandom) Picker(res discovery.Result) lb.Picker {
	ins := usable(res.Instances)
	switch len(ins) {
	case 0:
		return emptyPicker{}
	case 1:
		return singlePicker{ins[0]}
	}
	equal := true
	for _, in := range ins[1:] {
		if in.Weight() != ins[0].Weight() {
			equal = false
			break
		}
	}
	if equal {
		return &uniformPicker{ins: ins}
	}
	return newAliasPicker(ins)
}

type emptyPicker struct{}

func (emptyPicker) Next(context.Context) discovery.Instance { return nil }

type singlePicker struct{ in discovery.Instance }

func (s singlePicker) Next(context.Context) discovery.Instance { return s.in }

type uniformPicker struct{ ins []discovery.Instance }

func (u *uniformPicker) Next(context.Context) discovery.Instance {
	return u.ins[bounded(uint32(rand.Uint64()), len(u.ins))]
}

// bounded maps a uniform 32-bit x onto [0, n) (Lemire's multiply-shift;
// the bias, n/2^32, is negligible for instance counts).
func bounded(x uint32, n int) int { return int(uint64(x) * uint64(n) >> 32) }

// aliasPicker is Vose's alias table: column i is picked uniformly, then
// keeps i with probability prob/2^32 or else gives its alias.
type aliasPicker struct {
	ins  []discovery.Instance
	cols []aliasColumn
}

type aliasColumn struct {
	prob  uint64 // in units of 2^-32; 1<<32 means always keep
	alias int32
}

func newAliasPicker(ins []discovery.Instance) *aliasPicker {
	n := int64(len(ins))
	var total int64
	for _, in := range ins {
		total += int64(in.Weight())
	}
	// Work in integers scaled by n: column i holds weight_i*n out of a
	// column height of total, exactly.
	scaled := make([]int64, n)
	var small, large []int32
	for i, in := range ins {
		scaled[i] = int64(in.Weight()) * n
		if scaled[i] < total {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	p := &aliasPicker{ins: ins, cols: make([]aliasColumn, n)}
	for len(small) > 0 && len(large) > 0 {
		l, g := small[len(small)-1], large[len(large)-1]
		small, large = small[:len(small)-1], large[:len(large)-1]
		p.cols[l] = aliasColumn{prob: uint64(float64(scaled[l]) / float64(total) * (1 << 32)), alias: g}
		scaled[g] += scaled[l] - total
		if scaled[g] < total {
			small = append(small, g)
		} else {
			large = append(large, g)
		}
	}
	for _, i := range append(small, large...) {
		p.cols[i] = aliasColumn{prob: 1 << 32, alias: i}
	}
	return p
}

func (p *aliasPicker) Next(context.Context) discovery.Instance {
	r := rand.Uint64()
	i := bounded(uint32(r>>32), len(p.cols))
	if uint64(uint32(r)) < p.cols[i].prob {
		return p.ins[i]
	}
	return p.ins[p.cols[i].alias]
}
