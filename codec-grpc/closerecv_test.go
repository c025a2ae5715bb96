package grpccodec_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

func sumService() *service.Info {
	return &service.Info{Name: "Z", Package: "test", Methods: map[string]*service.MethodInfo{
		// Sum answers once, sets a trailer, then fails.
		"Sum": {Name: "Sum", StreamingMode: service.StreamingClient,
			Handler: func(ctx context.Context, impl, args, result any) error {
				s := &stream.GenericServerStream[wrapperspb.StringValue, wrapperspb.StringValue]{ServerStream: args.(stream.ServerStream)}
				s.SetTrailer(stream.Header{{Name: "x-t", Value: "v"}})
				if err := s.SendAndClose(wrapperspb.String("partial")); err != nil {
					return err
				}
				return status.New(status.DataLoss, "after the response")
			}},
	}}
}

// TestCloseAndRecvReadsStatus: a client-streaming call whose server
// answers and then fails reports the failure and the trailer, as grpc-go.
func TestCloseAndRecvReadsStatus(t *testing.T) {
	conn := serve(grpccodec.Default, newDispatcher().register(sumService(), struct{}{}))
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs, err := grpccodec.Default.NewClientStream(ctx, conn, sumService(), "Sum")
	if err != nil {
		t.Fatal(err)
	}
	s := &stream.GenericClientStream[wrapperspb.StringValue, wrapperspb.StringValue]{ClientStream: cs}
	_ = s.Send(wrapperspb.String("a"))
	res, err := s.CloseAndRecv()
	t.Logf("CloseAndRecv = %v, %v; Trailer() = %v", res, err, s.Trailer())
	if err == nil {
		t.Errorf("CloseAndRecv returned no error; grpc-go returns DATA_LOSS (the status after the response)")
	}
	if len(s.Trailer()) == 0 {
		t.Errorf("Trailer() empty after CloseAndRecv; grpc-go has it")
	}
}
