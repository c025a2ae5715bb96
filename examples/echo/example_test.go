package echo_test

import (
	"context"
	"fmt"

	"github.com/skiffrpc/skiff/examples/echo"
)

// The typed client over an Invoker; here one that serves the calls in
// process through the Thrift codec (see loopback in service_test.go).
func ExampleNewClient() {
	cli := echo.NewClient(&loopback{info: echo.ServiceInfo(), impl: &impl{}})
	ctx := context.Background()

	resp, err := cli.Echo(ctx, &echo.EchoRequest{Message: "hello"})
	fmt.Println(resp.Message, err)

	_, err = cli.Fail(ctx, 7)
	fmt.Println(err)
	// Output:
	// hello <nil>
	// EchoError({Code:7 Reason:requested failure})
}
