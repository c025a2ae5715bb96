package grpcinterop_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	kclient "github.com/cloudwego/kitex/client"
	kserver "github.com/cloudwego/kitex/server"

	kpb "github.com/skiffrpc/skiff/tests/grpc/kitex_gen/streampb"
	"github.com/skiffrpc/skiff/tests/grpc/kitex_gen/streampb/streamservice"
)

// kitexEcho is the Kitex implementation of StreamService (the same
// behaviour as grpcinterop.NewEchoServer).
type kitexEcho struct{}

func (kitexEcho) Echo(_ context.Context, req *kpb.EchoRequest) (*kpb.EchoResponse, error) {
	return &kpb.EchoResponse{Message: req.Message, Seq: req.Seq, Blob: req.Blob}, nil
}

func (kitexEcho) BidiEcho(s kpb.StreamService_BidiEchoServer) error {
	for {
		req, err := s.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&kpb.EchoResponse{Message: req.Message, Seq: req.Seq, Blob: req.Blob}); err != nil {
			return err
		}
	}
}

func (kitexEcho) ServerEcho(req *kpb.EchoRequest, s kpb.StreamService_ServerEchoServer) error {
	for i := int64(0); i < req.Seq; i++ {
		if err := s.Send(&kpb.EchoResponse{Message: req.Message, Seq: i, Blob: req.Blob}); err != nil {
			return err
		}
	}
	return nil
}

// startKitexGRPC runs a Kitex v0.15.2 server of StreamService (gRPC is
// detected on Kitex's default transport) on a free loopback port.
func startKitexGRPC(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	svr := streamservice.NewServer(new(kitexEcho), kserver.WithListener(ln), kserver.WithExitWaitTime(100*time.Millisecond))
	done := make(chan error, 1)
	go func() { done <- svr.Run() }()
	select {
	case err := <-done:
		t.Fatalf("kitex server: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	t.Cleanup(func() {
		_ = svr.Stop()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("kitex server did not stop")
		}
	})
	return addr
}

// echoCalls is the interop conversation, written once for both clients:
// a unary echo with a 1 KiB blob, a bidi stream of 10 echoes, a server
// stream of 5.
type echoCalls struct {
	unary  func(ctx context.Context, msg string, seq int64, blob []byte) (string, int64, []byte, error)
	bidi   func(ctx context.Context, n int) error
	server func(ctx context.Context, n int64) error
}

func runEchoCalls(t *testing.T, c echoCalls) {
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	t.Run("unary", func(t *testing.T) {
		blob := bytes.Repeat([]byte("k"), 1024)
		msg, seq, got, err := c.unary(ctx, "hello", 7, blob)
		if err != nil {
			t.Fatal(err)
		}
		if msg != "hello" || seq != 7 || !bytes.Equal(got, blob) {
			t.Fatalf("echo = %q %d %d bytes", msg, seq, len(got))
		}
	})
	t.Run("bidi", func(t *testing.T) {
		if err := c.bidi(ctx, 10); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("server_stream", func(t *testing.T) {
		if err := c.server(ctx, 5); err != nil {
			t.Fatal(err)
		}
	})
}

// kitexCalls returns the echo conversation of a Kitex v0.15.2 gRPC client
// of addr.
func kitexCalls(t *testing.T, addr string) echoCalls {
	t.Helper()
	kc, err := streamservice.NewClient("StreamService", kclient.WithHostPorts(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cl, ok := kc.(io.Closer); ok {
			_ = cl.Close()
		}
	})
	return echoCalls{
		unary: func(ctx context.Context, msg string, seq int64, blob []byte) (string, int64, []byte, error) {
			res, err := kc.Echo(ctx, &kpb.EchoRequest{Message: msg, Seq: seq, Blob: blob})
			if err != nil {
				return "", 0, nil, err
			}
			return res.Message, res.Seq, res.Blob, nil
		},
		bidi: func(ctx context.Context, n int) error {
			s, err := kc.BidiEcho(ctx)
			if err != nil {
				return err
			}
			for i := range n {
				if err := s.Send(&kpb.EchoRequest{Message: "bidi", Seq: int64(i)}); err != nil {
					return fmt.Errorf("send %d: %w", i, err)
				}
				res, err := s.Recv()
				if err != nil {
					return fmt.Errorf("recv %d: %w", i, err)
				}
				if res.Seq != int64(i) || res.Message != "bidi" {
					return fmt.Errorf("echo %d = %q %d", i, res.Message, res.Seq)
				}
			}
			if err := s.Close(); err != nil {
				return fmt.Errorf("close: %w", err)
			}
			if _, err := s.Recv(); err != io.EOF {
				return fmt.Errorf("last recv: %v, want io.EOF", err)
			}
			return nil
		},
		server: func(ctx context.Context, n int64) error {
			s, err := kc.ServerEcho(ctx, &kpb.EchoRequest{Message: "srv", Seq: n})
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
				if res.Seq != i {
					return fmt.Errorf("response %d has seq %d", i, res.Seq)
				}
			}
		},
	}
}

// TestKitexControl is the control: Kitex client against Kitex server.
func TestKitexControl(t *testing.T) {
	runEchoCalls(t, kitexCalls(t, startKitexGRPC(t)))
}
