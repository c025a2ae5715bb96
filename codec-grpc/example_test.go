package grpccodec_test

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/wrapperspb"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/status"
)

// A unary call with metadata both ways and a status error. In a program
// the server's codec runs inside core/server and the client's inside
// core/client, over transport-http2; here an in-memory transport joins
// them.
func ExampleCodec_Unary() {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()

	var header grpccodec.MD
	ctx := grpccodec.AppendToOutgoingContext(context.Background(), "x-echo-user", "ann")
	ctx = grpccodec.WithResponseHeader(ctx, &header)

	res := &echoResult{}
	err := grpccodec.Default.Unary(ctx, conn, echoService(), "Echo", &echoArgs{Req: wrapperspb.String("meta")}, res)
	fmt.Println(err, header.Get("x-echo-user"))

	err = grpccodec.Default.Unary(ctx, conn, echoService(), "Echo", &echoArgs{Req: wrapperspb.String("fail:5:no such user")}, res)
	fmt.Println(status.CodeOf(err), err.(*status.Error).Message())

	err = grpccodec.Default.Unary(ctx, conn, echoService(), "Missing", &echoArgs{}, res)
	fmt.Println(status.CodeOf(err), err.(*status.Error).Message())
	// Output:
	// <nil> [ann]
	// not_found no such user
	// unimplemented unknown method Missing for service test.Echo
}
