// Command grpcecho serves the echo service on 127.0.0.1, calls it once
// over gRPC (HTTP/2) with a Skiff client and stops: a program whose Skiff
// modules are core, codec-grpc and transport-http2 (the code under gen/ is
// what the installed skiff generates from echo.proto).
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	h2transport "github.com/skiffrpc/skiff/transport-http2"

	"example.com/grpcecho/gen/echopb"
)

type handler struct{}

func (handler) Echo(_ context.Context, req *echopb.EchoRequest) (*echopb.EchoResponse, error) {
	return &echopb.EchoResponse{Message: "echo: " + req.Message}, nil
}

func main() {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(time.Second))
	if err := echopb.RegisterEcho(svr, handler{}); err != nil {
		log.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		log.Fatal(err)
	}
	defer svr.Stop()

	cli, err := client.New(echopb.EchoServiceInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default),
		client.WithRPCTimeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	resp, err := echopb.NewEchoClient(cli).Echo(context.Background(), &echopb.EchoRequest{Message: "grpc"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Message)
}
