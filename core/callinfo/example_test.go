package callinfo_test

import (
	"context"
	"fmt"

	"github.com/skiffrpc/skiff/core/callinfo"
)

// A module defines a typed per-call option with NewKey; its middleware
// reads it from the call's Info. (Users set it with client.WithCallOption,
// usually through the module's own option function.)
func ExampleKey() {
	maxAttempts := callinfo.NewKey[int]("example.max_attempts")
	ci := callinfo.New(context.Background())
	maxAttempts.Set(ci, 3) // what client.WithCallOption(maxAttempts, 3) does
	if n, ok := maxAttempts.Get(ci); ok {
		fmt.Println(maxAttempts.Name(), n)
	}
	// Output: example.max_attempts 3
}

// Metadata is the call's protocol-neutral carrier: keys set on the
// client's Info.Request reach the server's Info.Request over TTHeader and
// gRPC alike. Keys are stored in lower case.
func ExampleMetadata() {
	var md callinfo.Metadata
	md.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	md.Set("tenant", "acme")
	v, _ := md.Get("traceparent")
	fmt.Println(v)
	md.Range(func(k, v string) bool { fmt.Println(k); return true })
	// Output:
	// 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
	// traceparent
	// tenant
}
