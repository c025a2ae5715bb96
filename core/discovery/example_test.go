package discovery_test

import (
	"fmt"

	"github.com/skiffrpc/skiff/core/discovery"
)

// A resolver or a client compares two instance sets with Diff: instances
// match by network and address, and a changed weight is an update.
func ExampleDiff() {
	a := discovery.NewInstance("tcp", "127.0.0.1:8881", 10, nil)
	b := discovery.NewInstance("tcp", "127.0.0.1:8882", 10, nil)
	b2 := discovery.NewInstance("tcp", "127.0.0.1:8882", 20, nil)
	c := discovery.NewInstance("tcp", "127.0.0.1:8883", 10, nil)
	ch := discovery.Diff(discovery.Result{Instances: []discovery.Instance{a, b}},
		discovery.Result{Instances: []discovery.Instance{b2, c}})
	fmt.Println("added:", ch.Added[0].Address())
	fmt.Println("updated:", ch.Updated[0].Address(), ch.Updated[0].Weight())
	fmt.Println("removed:", ch.Removed[0].Address())
	// Output:
	// added: 127.0.0.1:8883
	// updated: 127.0.0.1:8882 20
	// removed: 127.0.0.1:8881
}
