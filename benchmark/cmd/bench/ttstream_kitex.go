//go:build !nokitex

package main

import (
	"context"
	"errors"
	"io"
	"net"

	kclient "github.com/cloudwego/kitex/client"
	kserver "github.com/cloudwego/kitex/server"

	kse "github.com/skiffrpc/skiff/benchmark/kitex_gen/streamecho"
	ksesvc "github.com/skiffrpc/skiff/benchmark/kitex_gen/streamecho/streamservice"
)

// kitexStreamEcho implements the Kitex streamx kse.StreamService.
type kitexStreamEcho struct{}

func (kitexStreamEcho) Bidi(ctx context.Context, s kse.StreamService_BidiServer) error {
	for {
		req, err := s.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(ctx, &kse.EchoResponse{Message: req.Message, Seq: req.Seq}); err != nil {
			return err
		}
	}
}

func (kitexStreamEcho) Collect(context.Context, kse.StreamService_CollectServer) error {
	return errors.New("not measured")
}

func (kitexStreamEcho) Spread(context.Context, *kse.EchoRequest, kse.StreamService_SpreadServer) error {
	return errors.New("not measured")
}

func serveKitexTTStream(addr string) error {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return err
	}
	return runKitex(ksesvc.NewServer(&kitexStreamEcho{}, kserver.WithServiceAddr(a)))
}

type kitexTTBidi struct {
	s ksesvc.StreamService_BidiClient
}

func (k kitexTTBidi) roundTrip(body string, seq int64) (int, int64, error) {
	ctx := context.Background()
	if err := k.s.Send(ctx, &kse.EchoRequest{Message: body, Seq: &seq}); err != nil {
		return 0, 0, err
	}
	resp, err := k.s.Recv(ctx)
	if err != nil {
		return 0, 0, err
	}
	return len(resp.Message), resp.GetSeq(), nil
}

func (k kitexTTBidi) closeSend() { _ = k.s.CloseSend(context.Background()) }

func dialKitexTTStreamBidi(addr string, conc int) (client, error) {
	c, err := ksesvc.NewClient("StreamService", kclient.WithHostPorts(addr))
	if err != nil {
		return nil, err
	}
	return newBidiClient(conc, func() (bidiStream, error) {
		s, err := c.Bidi(context.Background())
		if err != nil {
			return nil, err
		}
		return kitexTTBidi{s}, nil
	}, nil)
}

func init() {
	frameworks["kitex-ttstream-bidi"] = framework{serve: serveKitexTTStream, dial: dialKitexTTStreamBidi}
}
