package loadbalance_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/loadbalance"
)

func TestWeightedDistribution(t *testing.T) {
	res := discovery.Result{Instances: []discovery.Instance{
		discovery.NewInstance("tcp", "a:1", 1, nil),
		discovery.NewInstance("tcp", "b:1", 2, nil),
		discovery.NewInstance("tcp", "c:1", 7, nil),
		discovery.NewInstance("tcp", "off:1", -1, nil),
	}}
	p := loadbalance.NewWeightedRoundRobin().Picker(res)
	counts := map[string]int{}
	for i := 0; i < 100000; i++ {
		counts[p.Next(context.Background()).Address()]++
	}
	want := map[string]int{"a:1": 10000, "b:1": 20000, "c:1": 70000}
	for k, v := range want {
		if d := counts[k] - v; d > v/100 || d < -v/100 {
			t.Errorf("%s: %d picks, want %d ±1%%", k, counts[k], v)
		}
	}
	if counts["off:1"] != 0 {
		t.Error("weight -1 instance was picked")
	}
	// Smooth: the heavy instance is interleaved with the others, never
	// picked more than 3 times in a row (plain weighted round robin would
	// pick it 7 times in a row).
	run, maxRun := 0, 0
	for i := 0; i < 100; i++ {
		if p.Next(context.Background()).Address() == "c:1" {
			run++
			maxRun = max(maxRun, run)
		} else {
			run = 0
		}
	}
	if maxRun > 3 {
		t.Errorf("heavy instance picked %d times in a row: not smooth", maxRun)
	}
}

func TestEmptyAndEqual(t *testing.T) {
	if in := loadbalance.NewWeightedRoundRobin().Picker(discovery.Result{}).Next(context.Background()); in != nil {
		t.Fatal("empty picker returned an instance")
	}
	res := discovery.Result{Instances: []discovery.Instance{
		discovery.NewInstance("tcp", "a:1", 0, nil), discovery.NewInstance("tcp", "b:1", 0, nil)}}
	p := loadbalance.NewWeightedRoundRobin().Picker(res)
	if a, b := p.Next(context.Background()).Address(), p.Next(context.Background()).Address(); a == b {
		t.Fatalf("round robin repeated %s", a)
	}
}

func ExampleNewWeightedRoundRobin() {
	res := discovery.Result{Instances: []discovery.Instance{
		discovery.NewInstance("tcp", "10.0.0.1:8888", 2, nil),
		discovery.NewInstance("tcp", "10.0.0.2:8888", 1, nil),
	}}
	p := loadbalance.NewWeightedRoundRobin().Picker(res)
	for i := 0; i < 3; i++ {
		fmt.Println(p.Next(context.Background()).Address())
	}
	// Output:
	// 10.0.0.1:8888
	// 10.0.0.2:8888
	// 10.0.0.1:8888
}
