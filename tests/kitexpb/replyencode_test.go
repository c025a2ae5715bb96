package kitexpb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	pb "github.com/skiffrpc/skiff/tests/kitexpb/interoppb"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// notUTF8 is a string proto3 refuses to encode: Size accepts it, Marshal
// fails part way, after the server reserved the reply's frame.
const notUTF8 = "\xff\xfe is not UTF-8"

// badReplies is a handler whose reply to "bad" fails to encode (after a
// large valid field, so that the frame spans several buffer nodes), and
// whose reply to "slow" comes after 300 ms.
func badReplies() skiffImpl {
	return skiffImpl{echo: func(ctx context.Context, req *pb.EchoRequest) (*pb.EchoResponse, error) {
		switch req.Message {
		case "bad":
			return &pb.EchoResponse{Echo: &pb.EchoRequest{Message: strings.Repeat("x", 256<<10)}, Server: notUTF8}, nil
		case "slow":
			time.Sleep(300 * time.Millisecond)
		}
		return &pb.EchoResponse{Echo: req, Server: "skiff"}, nil
	}}
}

// TestReplyEncodeFailure: a reply the codec cannot encode reaches the
// client as an Internal exception naming the failure, and the connection
// is unharmed: a call in flight on the same multiplexed connection gets
// its reply, and later calls succeed. Before, the server flushed the
// partly written frame (zeros where the failed encoding stopped), the
// client read an empty frame, and the connection and every call on it
// failed. Both engines (each takes back the partial frame its own way),
// multiplexed TTHeader and pooled Framed.
func TestReplyEncodeFailure(t *testing.T) {
	for _, eng := range []struct {
		name string
		e    engine.Engine
	}{{"netpoll", engine.Default}, {"std", engine.Std}} {
		for _, wire := range []struct {
			name string
			tp   transport.Protocol
			opts []client.Option
		}{
			{"ttheader-mux", ttheader.TTHeaderFramed, []client.Option{client.WithMultiplex(1)}},
			{"framed-pooled", transport.Framed, nil},
		} {
			t.Run(eng.name+"/"+wire.name, func(t *testing.T) {
				addr := startSkiff(t, badReplies(), server.WithEngine(eng.e))
				c := dialSkiff(t, addr, wire.tp, wire.opts...)
				if _, err := c.Echo(bounded(t), &pb.EchoRequest{Message: "warm"}); err != nil {
					t.Fatal(err)
				}
				slow := make(chan error, 1)
				go func() {
					r, err := c.Echo(bounded(t), &pb.EchoRequest{Message: "slow"})
					if err == nil && r.GetEcho().GetMessage() != "slow" {
						err = errors.New("wrong reply to the slow call: " + r.String())
					}
					slow <- err
				}()
				time.Sleep(50 * time.Millisecond) // the slow call is in flight
				_, err := c.Echo(bounded(t), &pb.EchoRequest{Message: "bad"})
				if err == nil {
					t.Fatal("a reply that cannot be encoded arrived")
				}
				if status.CodeOf(err) != status.Internal || !errors.Is(err, status.ErrRemote) || !strings.Contains(err.Error(), "invalid UTF-8") {
					t.Fatalf("want a remote Internal error naming the encoding failure, got %v (code %v)", err, status.CodeOf(err))
				}
				if err := <-slow; err != nil {
					t.Fatalf("the call in flight beside the failed reply: %v", err)
				}
				for i := 0; i < 3; i++ {
					if r, err := c.Echo(bounded(t), &pb.EchoRequest{Message: "after"}); err != nil || r.GetServer() != "skiff" {
						t.Fatalf("call after the failed reply: %v %v", r, err)
					}
				}
			})
		}
	}
}
