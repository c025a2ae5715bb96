// Command thriftecho serves the echo service over Thrift on 127.0.0.1,
// calls it once with a Skiff client and stops: a program whose only Skiff
// modules are core and codec-thrift (the code under gen/ is what the
// installed skiff generates from echo.thrift).
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"

	"example.com/thriftecho/gen/echo"
)

type handler struct{}

func (handler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: "echo: " + req.Message}, nil
}

func main() {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(time.Second))
	if err := echo.RegisterEchoService(svr, handler{}); err != nil {
		log.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		log.Fatal(err)
	}
	defer svr.Stop()

	cli, err := client.New(echo.EchoServiceServiceInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithRPCTimeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	resp, err := echo.NewEchoServiceClient(cli).Echo(context.Background(), &echo.EchoRequest{Message: "thrift"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Message)
}
