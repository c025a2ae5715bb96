package echo_test

import (
	"context"
	"fmt"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
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

// A server and a client over the real stack: Netpoll on loopback, Thrift
// Framed (the client default).
func Example_serverAndClient() {
	svr := server.New(server.WithAddress("127.0.0.1:0"))
	if err := svr.RegisterService(echo.ServiceInfo(), &impl{}); err != nil {
		panic(err)
	}
	if err := svr.Start(); err != nil {
		panic(err)
	}
	defer svr.Stop()

	cli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithRPCTimeout(time.Second))
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	stub := echo.NewClient(cli)
	resp, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "over the wire"})
	fmt.Println(resp.GetMessage(), err)
	// Output:
	// over the wire <nil>
}
