package ttstream_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	se "github.com/skiffrpc/skiff/tests/ttstream/skiff_gen/streamecho"
)

// serviceInfo is the descriptor skiff generated from stream.thrift's
// streaming annotations.
func serviceInfo() *service.Info { return se.StreamServiceServiceInfo() }

var _ se.StreamService = (*skiffImpl)(nil)

// Behaviour of both servers (Skiff's and Kitex's), so the same checks
// run against either:
//
//   - Bidi sends the header "x-tk" with the transient metainfo value "TRACE_TK"
//     it received, answers each request with message+"!" and the same
//     seq, fails with "boom" on message "fail" and with business error
//     4001 "quota" {"k": "v"} on "biz", and ends with the trailer
//     "x-count" (the number of requests).
//   - Collect answers once, with the messages joined by ",".
//   - Spread sends req.Seq responses "m-0", "m-1"...; with a negative seq
//     it sends until the stream is canceled and then reports on canceled.
const (
	bizCode = 4001
	bizMsg  = "quota"
)

// bigMessage is the 64 KiB response of Spread with message "big".
var bigMessage = strings.Repeat("x", 64<<10)

// skiffImpl is the Skiff server's implementation.
type skiffImpl struct{ canceled chan error }

func (h *skiffImpl) Bidi(ctx context.Context, s stream.BidiStreamingServer[se.EchoRequest, se.EchoResponse]) error {
	tk, _ := metainfo.GetValue(ctx, "TRACE_TK")
	if err := s.SetHeader(stream.Header{{Name: "x-tk", Value: tk}}); err != nil {
		return err
	}
	n := 0
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			s.SetTrailer(stream.Header{{Name: "x-count", Value: strconv.Itoa(n)}})
			return nil
		}
		if err != nil {
			return err
		}
		n++
		switch req.Message {
		case "fail":
			return errors.New("boom")
		case "biz":
			return &status.BizError{Code: bizCode, Message: bizMsg, Extra: map[string]string{"k": "v"}}
		}
		if err := s.Send(&se.EchoResponse{Message: req.Message + "!", Seq: req.Seq}); err != nil {
			return err
		}
	}
}

func (h *skiffImpl) Collect(ctx context.Context, s stream.ClientStreamingServer[se.EchoRequest, se.EchoResponse]) error {
	var all []string
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return s.SendAndClose(&se.EchoResponse{Message: strings.Join(all, ",")})
		}
		if err != nil {
			return err
		}
		all = append(all, req.Message)
	}
}

func (h *skiffImpl) Spread(ctx context.Context, req *se.EchoRequest, s stream.ServerStreamingServer[se.EchoResponse]) error {
	seq := int64(0)
	if req.Seq != nil {
		seq = *req.Seq
	}
	for i := int64(0); seq < 0 || i < seq; i++ {
		msg := "m-" + strconv.FormatInt(i, 10)
		if req.Message == "big" {
			msg = bigMessage
		}
		if err := s.Send(&se.EchoResponse{Message: msg}); err != nil {
			h.report(ctx, err)
			return err
		}
		if seq < 0 {
			select {
			case <-ctx.Done():
				h.report(ctx, ctx.Err())
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}

func (h *skiffImpl) report(ctx context.Context, err error) {
	if h.canceled != nil {
		select {
		case h.canceled <- err:
		default:
		}
	}
}

// startSkiff runs a Skiff server of StreamService on a free loopback port.
func startSkiff(t testing.TB, h *skiffImpl) string {
	t.Helper()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(slog.New(slog.DiscardHandler)))
	if err := svr.RegisterService(serviceInfo(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr.Addr().String()
}
