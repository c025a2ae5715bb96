//go:build !nokitex

package main

import (
	"context"
	"errors"
	"io"

	kpb "github.com/skiffrpc/skiff/benchmark/kitex_gen/echopb"
)

// Kitex server side of EchoStream.
func (kitexPBEcho) EchoStream(s kpb.EchoService_EchoStreamServer) error {
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&kpb.EchoResponse{Message: req.Message, Seq: req.Seq}); err != nil {
			return err
		}
	}
}

type kitexBidi struct {
	s interface {
		Send(*kpb.EchoRequest) error
		Recv() (*kpb.EchoResponse, error)
		Close() error
	}
}

func (k kitexBidi) roundTrip(body string, seq int64) (int, int64, error) {
	if err := k.s.Send(&kpb.EchoRequest{Message: body, Seq: seq}); err != nil {
		return 0, 0, err
	}
	resp, err := k.s.Recv()
	if err != nil {
		return 0, 0, err
	}
	return len(resp.Message), resp.Seq, nil
}

func (k kitexBidi) closeSend() { _ = k.s.Close() }

func dialKitexGRPCBidi(addr string, conc int) (client, error) {
	c, err := dialKitexGRPC(addr, conc)
	if err != nil {
		return nil, err
	}
	kc := c.(kitexPBClient)
	return newBidiClient(conc, func() (bidiStream, error) {
		s, err := kc.cli.EchoStream(context.Background())
		if err != nil {
			return nil, err
		}
		return kitexBidi{s}, nil
	}, nil)
}

func init() {
	frameworks["kitex-grpc-bidi"] = framework{serve: serveKitexPB, dial: dialKitexGRPCBidi}
}
