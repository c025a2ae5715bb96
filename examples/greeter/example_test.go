package greeter_test

import (
	"context"
	"os"

	"github.com/skiffrpc/skiff/examples/greeter"
)

// Example serves Greeter on a free port and calls it over gRPC and Kitex
// Protobuf.
func Example() {
	svr, err := greeter.NewServer("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer svr.Stop()
	if err := greeter.Run(context.Background(), svr.Addr().String(), os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// [grpc] SayHello -> "hello, gRPC"
	// [grpc] LotsOfHellos -> "hello #1, stream"
	// [grpc] LotsOfHellos -> "hello #2, stream"
	// [grpc] LotsOfHellos -> "hello #3, stream"
	// [kitex-protobuf] SayHello -> "hello, Kitex Protobuf"
}
