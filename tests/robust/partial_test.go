package robust_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// partialProto is TTHeader whose WriteMessage, for a reply to "small" or
// "large", writes garbage ('G') and then fails, as an encoder that gives
// up part way: 64 bytes with Malloc, or 64 KiB with WriteBinary (which the
// net-based engine queues for a vectored write and cannot take back).
type partialProto struct{ transport.Protocol }

func (p partialProto) WriteMessage(w transport.Writer, msg *codec.Message, c codec.Codec) error {
	if r, ok := msg.Payload.(*echo.EchoServiceEchoResult); ok && msg.Type == codec.Reply && r.Success != nil {
		switch r.Success.Message {
		case "small":
			b, err := w.Malloc(64)
			if err != nil {
				return err
			}
			copy(b, bytes.Repeat([]byte("G"), 64))
			return errors.New("encoder gave up")
		case "large":
			if _, err := w.WriteBinary(bytes.Repeat([]byte("G"), 64<<10)); err != nil {
				return err
			}
			return errors.New("encoder gave up")
		}
	}
	return p.Protocol.WriteMessage(w, msg, c)
}

// TestPartialReply: a reply whose transport failed after writing part of
// it never reaches the wire. Where the engine's writer can take the part
// back, the client gets an Internal exception naming the failure and the
// connection serves on; where it cannot, the connection is closed without
// the part: the client sees the connection lost, not a garbled frame. The
// net-based engine cannot take back a large slice it queued for a
// vectored write; Netpoll cannot take back bytes written into the buffer
// node its last flush ended in (the small part here, after the reply to
// "ok"; see engine's npWriter.MallocAck).
func TestPartialReply(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Netpoll, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			svr := start(t, hop{echoBack}, server.WithEngine(eng), server.WithTransports(partialProto{ttheader.TTHeader}))
			defer svr.Stop()
			for _, size := range []string{"small", "large"} {
				stub := dial(t, svr.Addr().String(), client.WithTransport(ttheader.TTHeader),
					client.WithLongConnection(client.PoolConfig{}), client.WithRPCTimeout(time.Second))
				if _, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "ok"}); err != nil {
					t.Fatal(err)
				}
				_, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: size})
				if err == nil {
					t.Fatalf("%s: the call whose reply failed succeeded", size)
				}
				if eng == engine.Std && size == "large" || eng == engine.Netpoll && size == "small" {
					if !errors.Is(err, status.ErrConnLost) || errors.Is(err, status.ErrProtocol) {
						t.Errorf("%s: want the connection lost (closed without the part), got %v", size, err)
					}
				} else if status.CodeOf(err) != status.Internal || !errors.Is(err, status.ErrRemote) || !strings.Contains(err.Error(), "encoder gave up") {
					t.Errorf("%s: want a remote Internal error naming the failure, got %v", size, err)
				}
				if _, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "ok"}); err != nil {
					t.Errorf("%s: the next call: %v", size, err)
				}
			}
		})
	}
}

// TestReplyHeaderTooLarge: a handler that sends back a value too large
// for a TTHeader string header (over 65,535 bytes) makes its reply, or
// the exception for the error it returned, fail to encode; the Internal exception that replaces it goes without the
// reply's metadata (which would fail the same way), so the client learns
// why at once instead of at its timeout, and the connection serves on.
func TestReplyHeaderTooLarge(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Netpoll, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			svr := start(t, hop{func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
				if req.Message != "ok" {
					metainfo.SendBackwardValue(ctx, "huge", strings.Repeat("v", 70000))
				}
				if req.Message == "huge-error" {
					return nil, errors.New("handler failed")
				}
				return &echo.EchoResponse{Message: req.Message}, nil
			}}, server.WithEngine(eng))
			defer svr.Stop()
			stub := dial(t, svr.Addr().String(), client.WithTransport(ttheader.TTHeader), client.WithRPCTimeout(3*time.Second))
			for _, msg := range []string{"huge", "huge-error"} {
				ctx := metainfo.WithBackwardValues(context.Background())
				t0 := time.Now()
				_, err := stub.Echo(ctx, &echo.EchoRequest{Message: msg})
				if status.CodeOf(err) != status.Internal || !strings.Contains(err.Error(), "over 65535") {
					t.Fatalf("%s: want an Internal error naming the header's limit, got %v", msg, err)
				}
				if d := time.Since(t0); d > 2*time.Second {
					t.Errorf("%s: the error took %v: the client waited for its timeout", msg, d)
				}
				if r, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "ok"}); err != nil || r.Message != "ok" {
					t.Errorf("%s: the next call: %v %v", msg, r, err)
				}
			}
		})
	}
}
