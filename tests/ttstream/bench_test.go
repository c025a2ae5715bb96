package ttstream_test

import (
	"context"
	"strings"
	"testing"

	kse "github.com/skiffrpc/skiff/tests/ttstream/kitex_gen/streamecho"
	se "github.com/skiffrpc/skiff/tests/ttstream/skiff_gen/streamecho"
)

// BenchmarkBidiEcho1KB measures one round trip of a 1 KB message on an
// open bidirectional stream (client and server in this process, on
// loopback): Skiff over ttstream, Kitex over ttstream, and Skiff over
// gRPC (application/grpc+thrift). For pinned, separate-process numbers
// use the benchmark module's harness.
func BenchmarkBidiEcho1KB(b *testing.B) {
	msg := strings.Repeat("x", 1024)
	skiff := func(b *testing.B, d driver) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, err := se.NewStreamServiceClient(d.(skiffDriver).c).Bidi(ctx)
		if err != nil {
			b.Fatal(err)
		}
		req := &se.EchoRequest{Message: msg}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := s.Send(req); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Recv(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		_ = s.CloseSend()
	}
	b.Run("SkiffTTStream", func(b *testing.B) {
		skiff(b, dialSkiff(b, startSkiff(b, &skiffImpl{})))
	})
	b.Run("SkiffGRPC", func(b *testing.B) {
		skiff(b, dialSkiffGRPC(b, startSkiff(b, &skiffImpl{})))
	})
	b.Run("KitexTTStream", func(b *testing.B) {
		d := dialKitex(b, startKitex(b, &kitexImpl{canceled: make(chan error, 1)})).(kitexDriver)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, err := d.c.Bidi(ctx)
		if err != nil {
			b.Fatal(err)
		}
		req := &kse.EchoRequest{Message: msg}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := s.Send(ctx, req); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Recv(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		_ = s.CloseSend(ctx)
	})
}
