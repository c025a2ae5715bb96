package main

import (
	"context"
	"errors"
	"io"

	"github.com/skiffrpc/skiff/benchmark/grpcpb"
	kpb "github.com/skiffrpc/skiff/benchmark/kitex_gen/echopb"
)

// A bidi framework measures a bidirectional stream of 1 KB messages: each
// caller owns one stream, and one call is one request sent and its answer
// received on it.
type bidiStream interface {
	roundTrip(body string, seq int64) (int, int64, error)
	closeSend()
}

// bidiClient hands each caller a stream of its own.
type bidiClient struct {
	streams chan bidiStream
	closeFn func()
}

// newBidiClient opens conc streams with open.
func newBidiClient(conc int, open func() (bidiStream, error), closeFn func()) (client, error) {
	b := &bidiClient{streams: make(chan bidiStream, conc), closeFn: closeFn}
	for range conc {
		s, err := open()
		if err != nil {
			b.close()
			return nil, err
		}
		b.streams <- s
	}
	return b, nil
}

func (b *bidiClient) call(body string, seq int64) (int, int64, error) {
	s := <-b.streams
	defer func() { b.streams <- s }()
	return s.roundTrip(body, seq)
}

func (b *bidiClient) close() {
	for {
		select {
		case s := <-b.streams:
			s.closeSend()
		default:
			if b.closeFn != nil {
				b.closeFn()
			}
			return
		}
	}
}

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
