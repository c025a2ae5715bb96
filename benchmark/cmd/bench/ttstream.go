//go:build !noskiff

package main

import (
	"context"
	"errors"
	"io"

	se "github.com/skiffrpc/skiff/benchmark/skiffstream/streamecho"
	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	skiffclient "github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/stream"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// Thrift streaming over TTHeader Streaming (ttstream): the Bidi method of
// idl/stream.thrift echoes each request on the stream.

// skiffStreamEcho implements se.StreamService (only Bidi is measured).
type skiffStreamEcho struct{}

func (skiffStreamEcho) Bidi(_ context.Context, s stream.BidiStreamingServer[se.EchoRequest, se.EchoResponse]) error {
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&se.EchoResponse{Message: req.Message, Seq: req.Seq}); err != nil {
			return err
		}
	}
}

func (skiffStreamEcho) Collect(context.Context, stream.ClientStreamingServer[se.EchoRequest, se.EchoResponse]) error {
	return errors.New("not measured")
}

func (skiffStreamEcho) Spread(context.Context, *se.EchoRequest, stream.ServerStreamingServer[se.EchoResponse]) error {
	return errors.New("not measured")
}

type skiffTTBidi struct {
	s stream.BidiStreamingClient[se.EchoRequest, se.EchoResponse]
}

func (b skiffTTBidi) roundTrip(body string, seq int64) (int, int64, error) {
	if err := b.s.Send(&se.EchoRequest{Message: body, Seq: &seq}); err != nil {
		return 0, 0, err
	}
	resp, err := b.s.Recv()
	if err != nil {
		return 0, 0, err
	}
	return len(resp.Message), resp.GetSeq(), nil
}

func (b skiffTTBidi) closeSend() { _ = b.s.CloseSend() }

func dialSkiffTTStreamBidi(addr string, conc int) (client, error) {
	c, err := skiffclient.New(se.StreamServiceServiceInfo(), skiffclient.WithHostPorts(addr),
		skiffclient.WithStreamTransport(ttheader.TTStream), skiffclient.WithStreamCodec(thriftcodec.TTStream))
	if err != nil {
		return nil, err
	}
	stub := se.NewStreamServiceClient(c)
	return newBidiClient(conc, func() (bidiStream, error) {
		s, err := stub.Bidi(context.Background())
		return skiffTTBidi{s}, err
	}, func() { _ = c.Close() })
}

func init() {
	frameworks["skiff-ttstream-bidi"] = framework{serve: serveSkiff, dial: dialSkiffTTStreamBidi}
}
