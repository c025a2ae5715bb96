package loadbalance

import (
	"math"
	"testing"

	"github.com/skiffrpc/skiff/core/discovery"
)

// The alias table encodes the weights exactly: the probability of each
// instance, summed over the columns, is its weight over the total.
func TestAliasTableExact(t *testing.T) {
	for _, weights := range [][]int{{1, 2, 7}, {1, 1, 1, 97}, {3, 5}, {10, 20, 30, 40, 50, 1, 1000}, {7, 1, 1, 1, 1, 1, 1, 1}} {
		ins := make([]discovery.Instance, len(weights))
		total := 0
		for i, w := range weights {
			ins[i] = discovery.NewInstance("tcp", string(rune('a'+i))+":1", w, nil)
			total += w
		}
		p := newAliasPicker(ins)
		got := make([]float64, len(ins))
		for i, c := range p.cols {
			keep := float64(c.prob) / (1 << 32)
			got[i] += keep / float64(len(ins))
			got[c.alias] += (1 - keep) / float64(len(ins))
		}
		for i, w := range weights {
			if want := float64(w) / float64(total); math.Abs(got[i]-want) > 1e-9 {
				t.Errorf("weights %v: instance %d has probability %.12f, want %.12f", weights, i, got[i], want)
			}
		}
	}
}
