package discovery_test

import (
	"fmt"

	"github.com/skiffrpc/skiff/core/discovery"
)

// A resolver or a client compares two instance sets with Diff: instances
// match by network and address, and a changed weight is an update.
func ExampleDiff() {
	a := discovery.NewInstance("tcp", "10.0.0.1:8888", 10, nil)
	b := discovery.NewInstance("tcp", "10.0.0.2:8888", 10, nil)
	b2 := discovery.NewInstance("tcp", "10.0.0.2:8888", 20, nil)
	c := discovery.NewInstance("tcp", "10.0.0.3:8888", 10, nil)
	ch := discovery.Diff(discovery.Result{Instances: []discovery.Instance{a, b}},
		discovery.Result{Instances: []discovery.Instance{b2, c}})
	fmt.Println("added:", ch.Added[0].Address())
	fmt.Println("updated:", ch.Updated[0].Address(), ch.Updated[0].Weight())
	fmt.Println("removed:", ch.Removed[0].Address())
	// Output:
	// added: 10.0.0.3:8888
	// updated: 10.0.0.2:8888 20
	// removed: 10.0.0.1:8888
}
