package callmodel_test

import (
	"context"
	"strings"
	"testing"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// nilGreeter answers with neither a reply nor an error.
type nilGreeter struct{}

func (nilGreeter) SayHello(context.Context, *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	return nil, nil
}

func (nilGreeter) LotsOfHellos(*greeterpb.HelloRequest, stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	return nil
}

// TestNilReplyIsInternal: a protobuf handler that returns a nil reply and
// a nil error gives the client INTERNAL, as grpc-go does, over gRPC and
// Kitex Protobuf; not an empty message.
func TestNilReplyIsInternal(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	if err := greeterpb.RegisterGreeter(svr, nilGreeter{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	for _, st := range []stack{
		protoStack("kitex-protobuf", client.WithTransport(ttheader.TTHeaderFramed)),
		protoStack("grpc", client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default)),
	} {
		t.Run(st.name, func(t *testing.T) {
			err := st.dial(t, svr.Addr().String())(context.Background(), "x")
			if status.CodeOf(err) != status.Internal || !strings.Contains(err.Error(), "nil response") {
				t.Errorf("got %v, want INTERNAL for a nil response", err)
			}
		})
	}
}
