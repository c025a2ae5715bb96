package grpcinterop_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/skiffrpc/skiff/core/server"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"
	"github.com/skiffrpc/skiff/tests/grpc/streampb"
)

// TestKitexClientSkiffServer: a Kitex v0.15.2 gRPC client calls a Skiff
// server, unary and streaming.
func TestKitexClientSkiffServer(t *testing.T) {
	addr := startSkiffWith(t, nil, func(s *server.Server) error {
		return s.RegisterService(grpcinterop.StreamServiceInfo(), grpcinterop.NewEchoServer())
	})
	runEchoCalls(t, kitexCalls(t, addr))
}

// TestSkiffClientKitexServer: a Skiff gRPC client calls a Kitex v0.15.2
// server, unary and streaming.
func TestSkiffClientKitexServer(t *testing.T) {
	addr := startKitexGRPC(t)
	sc := grpcinterop.NewStreamClient(dialSkiff(t, grpcinterop.StreamServiceInfo(), addr, nil))
	runEchoCalls(t, echoCalls{
		unary: func(ctx context.Context, msg string, seq int64, blob []byte) (string, int64, []byte, error) {
			res, err := sc.Echo(ctx, &streampb.EchoRequest{Message: msg, Seq: seq, Blob: blob})
			if err != nil {
				return "", 0, nil, err
			}
			return res.GetMessage(), res.GetSeq(), res.GetBlob(), nil
		},
		bidi: func(ctx context.Context, n int) error {
			s, err := sc.BidiEcho(ctx)
			if err != nil {
				return err
			}
			for i := range n {
				if err := s.Send(&streampb.EchoRequest{Message: "bidi", Seq: int64(i)}); err != nil {
					return fmt.Errorf("send %d: %w", i, err)
				}
				res, err := s.Recv()
				if err != nil {
					return fmt.Errorf("recv %d: %w", i, err)
				}
				if res.GetSeq() != int64(i) || res.GetMessage() != "bidi" {
					return fmt.Errorf("echo %d = %q %d", i, res.GetMessage(), res.GetSeq())
				}
			}
			if err := s.CloseSend(); err != nil {
				return fmt.Errorf("close send: %w", err)
			}
			if _, err := s.Recv(); err != io.EOF {
				return fmt.Errorf("last recv: %v, want io.EOF", err)
			}
			return nil
		},
		server: func(ctx context.Context, n int64) error {
			s, err := sc.ServerEcho(ctx, &streampb.EchoRequest{Message: "srv", Seq: n})
			if err != nil {
				return err
			}
			for i := int64(0); ; i++ {
				res, err := s.Recv()
				if err == io.EOF {
					if i != n {
						return fmt.Errorf("got %d responses, want %d", i, n)
					}
					return nil
				}
				if err != nil {
					return fmt.Errorf("recv %d: %w", i, err)
				}
				if res.GetSeq() != i {
					return fmt.Errorf("response %d has seq %d", i, res.GetSeq())
				}
			}
		},
	})
}
