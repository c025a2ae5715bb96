package callmodel_test

import (
	"context"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// TestTracedStreamCancel: a traced bidi stream whose context is canceled
// while another goroutine sends finishes its tracers without racing the
// sender (run with -race).
func TestTracedStreamCancel(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	if err := svr.RegisterService(grpcinterop.TestServiceInfo(), grpcinterop.NewTestServer()); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	rec := &recorder{}
	cli, err := client.New(grpcinterop.TestServiceInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default),
		client.WithTracer(rec), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	stub := grpcinterop.NewClient(cli)
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		bidi, err := stub.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: make([]byte, 30)}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for bidi.Send(out) == nil {
			}
		}()
		time.Sleep(2 * time.Millisecond)
		cancel()
		<-done
	}
	waitFor(t, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.calls) == 20 })
	for _, c := range rec.take() {
		if c.err == nil {
			t.Errorf("a canceled stream finished its tracer without an error: %+v", c)
		}
	}
}
