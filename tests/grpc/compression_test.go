package grpcinterop_test

import (
	"context"
	"io"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding/gzip" // registers gzip with grpc-go
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
)

// TestGzipSkiffClient: a Skiff client that gzips what it sends
// (grpc-encoding gzip) runs the 14 cases against grpc-go's server and
// Skiff's.
func TestGzipSkiffClient(t *testing.T) {
	gz := client.WithStreamCodec(grpccodec.New(grpccodec.Options{SendCompressor: "gzip"}))
	t.Run("grpc-go", func(t *testing.T) { runCases(t, startGRPCGo(t, nil), nil, gz) })
	t.Run("skiff", func(t *testing.T) { runCases(t, startSkiff(t, nil), nil, gz) })
}

// TestGzipGRPCGoClient: a grpc-go client that gzips its messages calls a
// Skiff server, unary and bidi, with large payloads.
func TestGzipGRPCGoClient(t *testing.T) {
	tc := testgrpc.NewTestServiceClient(dialGRPCGo(t, startSkiff(t, nil)))
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	gz := grpc.UseCompressor(gzip.Name)

	res, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{
		ResponseType: testpb.PayloadType_COMPRESSABLE,
		ResponseSize: 314159,
		Payload:      &testpb.Payload{Body: make([]byte, 271828)},
	}, gz)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.GetPayload().GetBody()); n != 314159 {
		t.Fatalf("unary response of %d bytes, want 314159", n)
	}

	s, err := tc.FullDuplexCall(ctx, gz)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int32{31415, 9, 2653, 58979} {
		err := s.Send(&testpb.StreamingOutputCallRequest{
			ResponseType:       testpb.PayloadType_COMPRESSABLE,
			ResponseParameters: []*testpb.ResponseParameters{{Size: n}},
			Payload:            &testpb.Payload{Body: make([]byte, 27182)},
		})
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		res, err := s.Recv()
		if err != nil {
			t.Fatalf("recv %d: %v", i, err)
		}
		if got := len(res.GetPayload().GetBody()); got != int(n) {
			t.Fatalf("response %d of %d bytes, want %d", i, got, n)
		}
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
}
