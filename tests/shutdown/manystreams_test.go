package shutdown_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// TestStopManyStreamsStatus: 90 streams still open at the exit wait all end
// with UNAVAILABLE (their trailers are sent before the connection closes),
// none with a lost connection.
func TestStopManyStreamsStatus(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Netpoll, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			g := &greeter{opened: make(chan struct{})}
			svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithEngine(eng),
				server.WithExitWaitTime(300*time.Millisecond))
			if err := greeterpb.RegisterGreeter(svr, g); err != nil {
				t.Fatal(err)
			}
			if err := svr.Start(); err != nil {
				t.Fatal(err)
			}
			cli, err := client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts(svr.Addr().String()), client.WithLogger(quiet),
				client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default))
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			gc := greeterpb.NewGreeterSkiffClient(cli)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			const n = 90
			var sts []stream_
			for i := 0; i < n; i++ {
				st, err := gc.LotsOfHellos(ctx, &greeterpb.HelloRequest{Name: "a"})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.Recv(); err != nil {
					t.Fatal(err)
				}
				sts = append(sts, st)
			}
			stopped := make(chan error, 1)
			go func() { stopped <- svr.Stop() }()
			ok, lost := 0, 0
			var lostErr error
			for _, st := range sts {
				_, err := st.Recv()
				if status.CodeOf(err) == status.Unavailable && !errors.Is(err, io.EOF) && !errors.Is(err, status.ErrConnLost) {
					ok++
				} else {
					lost++
					lostErr = err
				}
			}
			t.Logf("%s: %d with status, %d lost (e.g. %v); Stop: %v", eng.Name(), ok, lost, lostErr, <-stopped)
		})
	}
}

type stream_ interface {
	Recv() (*greeterpb.HelloReply, error)
}
