//go:build !nogrpc

package main

import (
	"context"
	"errors"
	"io"

	"github.com/skiffrpc/skiff/benchmark/grpcpb"
)

// grpc-go server side of EchoStream.
func (grpcEcho) EchoStream(s grpcpb.EchoService_EchoStreamServer) error {
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&grpcpb.EchoResponse{Message: req.Message, Seq: req.Seq}); err != nil {
			return err
		}
	}
}

type grpcBidi struct {
	s grpcpb.EchoService_EchoStreamClient
}

func (g grpcBidi) roundTrip(body string, seq int64) (int, int64, error) {
	if err := g.s.Send(&grpcpb.EchoRequest{Message: body, Seq: seq}); err != nil {
		return 0, 0, err
	}
	resp, err := g.s.Recv()
	if err != nil {
		return 0, 0, err
	}
	return len(resp.Message), resp.Seq, nil
}

func (g grpcBidi) closeSend() { _ = g.s.CloseSend() }

func dialGRPCBidi(addr string, conc int) (client, error) {
	c, err := dialGRPC(addr, conc)
	if err != nil {
		return nil, err
	}
	gc := c.(grpcClient)
	return newBidiClient(conc, func() (bidiStream, error) {
		s, err := gc.cli.EchoStream(context.Background())
		return grpcBidi{s}, err
	}, gc.close)
}

func init() {
	frameworks["grpc-bidi"] = framework{serve: serveGRPC, dial: dialGRPCBidi}
}
