package gcfloor_test

import (
	"fmt"

	"github.com/skiffrpc/skiff/core/gcfloor"
)

// A program that serves without Skiff's server or client (an in-process
// Invoker, say) raises the floor itself, early in main. Raise refuses when
// the program tunes the collector itself (see Tuned).
func ExampleRaise() {
	ok := gcfloor.Raise(gcfloor.Default)
	fmt.Println(ok == !gcfloor.Tuned())
	// Output: true
}
