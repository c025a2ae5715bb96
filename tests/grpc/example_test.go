package grpcinterop_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"
	h2transport "github.com/skiffrpc/skiff/transport-http2"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	_ "github.com/skiffrpc/skiff/codec-grpc" // registers gRPC as a stream codec
)

// A Skiff server of grpc.testing.TestService and a Skiff gRPC client of it.
func Example() {
	quiet := slog.New(slog.DiscardHandler)
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	if err := svr.RegisterService(grpcinterop.TestServiceInfo(), grpcinterop.NewTestServer()); err != nil {
		panic(err)
	}
	if err := svr.Start(); err != nil {
		panic(err)
	}
	defer svr.Stop()

	cli, err := client.New(grpcinterop.TestServiceInfo(),
		client.WithHostPorts(svr.Addr().String()),
		client.WithStreamTransport(h2transport.New()),
		client.WithLogger(quiet))
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	tc := grpcinterop.NewClient(cli)

	res, err := tc.UnaryCall(context.Background(), &testpb.SimpleRequest{
		ResponseType: testpb.PayloadType_COMPRESSABLE,
		ResponseSize: 3,
	})
	fmt.Println(len(res.GetPayload().GetBody()), err)
	// Output: 3 <nil>
}
