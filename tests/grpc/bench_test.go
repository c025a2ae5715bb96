package grpcinterop_test

import (
	"context"
	"testing"

	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"
)

// benchReq is a unary call with 1 KiB each way.
var benchReq = &testpb.SimpleRequest{
	ResponseType: testpb.PayloadType_COMPRESSABLE,
	ResponseSize: 1024,
	Payload:      &testpb.Payload{Body: make([]byte, 1024)},
}

// BenchmarkUnary1K measures a 1 KiB unary call in this process over
// loopback, for each pairing of Skiff and grpc-go client and server, with
// parallel callers (GOMAXPROCS goroutines) on one connection. The
// benchmark module has the pinned, out-of-process numbers.
func BenchmarkUnary1K(b *testing.B) {
	servers := map[string]func(testing.TB) string{
		"skiff-server":   func(tb testing.TB) string { return startSkiff(tb, nil) },
		"grpc-go-server": func(tb testing.TB) string { return startGRPCGo(tb, nil) },
	}
	for _, sname := range []string{"skiff-server", "grpc-go-server"} {
		for _, cname := range []string{"skiff-client", "grpc-go-client"} {
			b.Run(cname+"/"+sname, func(b *testing.B) {
				addr := servers[sname](b)
				var call func(ctx context.Context) error
				if cname == "skiff-client" {
					tc := grpcinterop.NewClient(dialSkiff(b, grpcinterop.TestServiceInfo(), addr, nil))
					call = func(ctx context.Context) error { _, err := tc.UnaryCall(ctx, benchReq); return err }
				} else {
					tc := testgrpc.NewTestServiceClient(dialGRPCGo(b, addr))
					call = func(ctx context.Context) error { _, err := tc.UnaryCall(ctx, benchReq); return err }
				}
				ctx := context.Background()
				if err := call(ctx); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := call(ctx); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
