package ttstream_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	kmetainfo "github.com/bytedance/gopkg/cloud/metainfo"
	kclient "github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/klog"
	kserver "github.com/cloudwego/kitex/server"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	kse "github.com/skiffrpc/skiff/tests/ttstream/kitex_gen/streamecho"
	"github.com/skiffrpc/skiff/tests/ttstream/kitex_gen/streamecho/streamservice"
	se "github.com/skiffrpc/skiff/tests/ttstream/skiff_gen/streamecho"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

func TestMain(m *testing.M) {
	klog.SetLevel(klog.LevelFatal)
	leaktest.VerifyTestMain(m, kitexIgnores...)
}

const callTimeout = 5 * time.Second

// bizErr is what a client saw of a business error.
type bizErr struct {
	code  int32
	msg   string
	extra map[string]string
}

// bidiResult is what a client saw of a Bidi call.
type bidiResult struct {
	replies []string
	header  map[string]string
	trailer map[string]string
	err     error // the error that ended the stream (nil: io.EOF)
	biz     *bizErr
}

// driver is one client implementation.
type driver interface {
	bidi(ctx context.Context, msgs []string) bidiResult
	collect(ctx context.Context, msgs []string) (string, error)
	spread(ctx context.Context, n int64) ([]string, error)
	// spreadCancel starts an endless Spread, reads three responses and
	// cancels the stream's context; it returns the error Recv gives then.
	spreadCancel(ctx context.Context) error
}

// ---- Skiff client ----

type skiffDriver struct{ c *client.Client }

func dialSkiff(t testing.TB, addr string) driver {
	t.Helper()
	c, err := client.New(serviceInfo(), client.WithHostPorts(addr),
		client.WithStreamTransport(ttheader.TTStream), client.WithStreamCodec(thriftcodec.TTStream),
		client.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return skiffDriver{c}
}

func skiffBiz(err error) *bizErr {
	var be *status.BizError
	if errors.As(err, &be) {
		return &bizErr{be.Code, be.Message, be.Extra}
	}
	return nil
}

func fields(h stream.Header) map[string]string {
	m := map[string]string{}
	for _, f := range h {
		m[f.Name] = f.Value
	}
	return m
}

func (d skiffDriver) bidi(ctx context.Context, msgs []string) (r bidiResult) {
	ctx = metainfo.WithValue(ctx, "TRACE_TK", "tv")
	s, err := se.NewStreamServiceClient(d.c).Bidi(ctx)
	if err != nil {
		r.err = err
		return r
	}
	for i, m := range msgs {
		seq := int64(i)
		if err := s.Send(&se.EchoRequest{Message: m, Seq: &seq}); err != nil {
			break
		}
	}
	_ = s.CloseSend()
	for {
		res, err := s.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.err, r.biz = err, skiffBiz(err)
			}
			break
		}
		r.replies = append(r.replies, res.Message)
	}
	if h, err := s.Header(); err == nil {
		r.header = fields(h)
	}
	r.trailer = fields(s.Trailer())
	return r
}

func (d skiffDriver) collect(ctx context.Context, msgs []string) (string, error) {
	s, err := se.NewStreamServiceClient(d.c).Collect(ctx)
	if err != nil {
		return "", err
	}
	for _, m := range msgs {
		if err := s.Send(&se.EchoRequest{Message: m}); err != nil {
			return "", err
		}
	}
	res, err := s.CloseAndRecv()
	if err != nil {
		return "", err
	}
	return res.Message, nil
}

func (d skiffDriver) spread(ctx context.Context, n int64) ([]string, error) {
	s, err := se.NewStreamServiceClient(d.c).Spread(ctx, &se.EchoRequest{Message: "go", Seq: &n})
	if err != nil {
		return nil, err
	}
	var out []string
	for {
		res, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, res.Message)
	}
}

func (d skiffDriver) spreadCancel(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := d.c.NewStream(ctx, "Spread")
	if err != nil {
		return err
	}
	s := &stream.GenericClientStream[se.EchoRequest, se.EchoResponse]{ClientStream: cs}
	n := int64(-1)
	if err := s.Send(&se.EchoRequest{Message: "go", Seq: &n}); err != nil {
		return err
	}
	_ = s.CloseSend()
	for range 3 {
		if _, err := s.Recv(); err != nil {
			return err
		}
	}
	cancel()
	for {
		if _, err := s.Recv(); err != nil {
			return err
		}
	}
}

// ---- Kitex client ----

type kitexDriver struct{ c streamservice.Client }

func dialKitex(t testing.TB, addr string) driver {
	t.Helper()
	c, err := streamservice.NewClient("StreamService", kclient.WithHostPorts(addr))
	if err != nil {
		t.Fatal(err)
	}
	return kitexDriver{c}
}

func kitexBiz(err error) *bizErr {
	if be, ok := kerrors.FromBizStatusError(err); ok {
		return &bizErr{be.BizStatusCode(), be.BizMessage(), be.BizExtra()}
	}
	return nil
}

func (d kitexDriver) bidi(ctx context.Context, msgs []string) (r bidiResult) {
	ctx = kmetainfo.WithValue(ctx, "TRACE_TK", "tv")
	s, err := d.c.Bidi(ctx)
	if err != nil {
		r.err = err
		return r
	}
	for i, m := range msgs {
		seq := int64(i)
		if err := s.Send(ctx, &kse.EchoRequest{Message: m, Seq: &seq}); err != nil {
			break
		}
	}
	_ = s.CloseSend(ctx)
	for {
		res, err := s.Recv(ctx)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.err, r.biz = err, kitexBiz(err)
			}
			break
		}
		r.replies = append(r.replies, res.Message)
	}
	if h, err := s.Header(); err == nil {
		r.header = h
	}
	if tr, err := s.Trailer(); err == nil {
		r.trailer = tr
	}
	return r
}

func (d kitexDriver) collect(ctx context.Context, msgs []string) (string, error) {
	s, err := d.c.Collect(ctx)
	if err != nil {
		return "", err
	}
	for _, m := range msgs {
		if err := s.Send(ctx, &kse.EchoRequest{Message: m}); err != nil {
			return "", err
		}
	}
	res, err := s.CloseAndRecv(ctx)
	if err != nil {
		return "", err
	}
	return res.Message, nil
}

func (d kitexDriver) spread(ctx context.Context, n int64) ([]string, error) {
	s, err := d.c.Spread(ctx, &kse.EchoRequest{Message: "go", Seq: &n})
	if err != nil {
		return nil, err
	}
	var out []string
	for {
		res, err := s.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, res.Message)
	}
}

func (d kitexDriver) spreadCancel(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := int64(-1)
	s, err := d.c.Spread(ctx, &kse.EchoRequest{Message: "go", Seq: &n})
	if err != nil {
		return err
	}
	for range 3 {
		if _, err := s.Recv(ctx); err != nil {
			return err
		}
	}
	cancel()
	for {
		if _, err := s.Recv(ctx); err != nil {
			return err
		}
	}
}

// ---- Kitex server ----

type kitexImpl struct{ canceled chan error }

func (h *kitexImpl) Bidi(ctx context.Context, s kse.StreamService_BidiServer) error {
	tk, _ := kmetainfo.GetValue(ctx, "TRACE_TK")
	if err := s.SetHeader(map[string]string{"x-tk": tk}); err != nil {
		return err
	}
	n := 0
	for {
		req, err := s.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return s.SetTrailer(map[string]string{"x-count": strconv.Itoa(n)})
		}
		if err != nil {
			return err
		}
		n++
		switch req.Message {
		case "fail":
			return errors.New("boom")
		case "biz":
			return kerrors.NewBizStatusErrorWithExtra(bizCode, bizMsg, map[string]string{"k": "v"})
		}
		if err := s.Send(ctx, &kse.EchoResponse{Message: req.Message + "!", Seq: req.Seq}); err != nil {
			return err
		}
	}
}

func (h *kitexImpl) Collect(ctx context.Context, s kse.StreamService_CollectServer) error {
	var all []string
	for {
		req, err := s.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return s.SendAndClose(ctx, &kse.EchoResponse{Message: strings.Join(all, ",")})
		}
		if err != nil {
			return err
		}
		all = append(all, req.Message)
	}
}

func (h *kitexImpl) Spread(ctx context.Context, req *kse.EchoRequest, s kse.StreamService_SpreadServer) error {
	seq := req.GetSeq()
	for i := int64(0); seq < 0 || i < seq; i++ {
		msg := "m-" + strconv.FormatInt(i, 10)
		if req.Message == "big" {
			msg = bigMessage
		}
		if err := s.Send(ctx, &kse.EchoResponse{Message: msg}); err != nil {
			h.report(err)
			return err
		}
		if seq < 0 {
			select {
			case <-ctx.Done():
				h.report(ctx.Err())
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}

func (h *kitexImpl) report(err error) {
	select {
	case h.canceled <- err:
	default:
	}
}

// startKitex runs a Kitex ttstream server on a free loopback port.
func startKitex(t testing.TB, h *kitexImpl) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	svr := streamservice.NewServer(h, kserver.WithListener(ln), kserver.WithExitWaitTime(100*time.Millisecond))
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

// ---- the matrix ----

func TestStreams(t *testing.T) {
	type side struct {
		name  string
		start func(t *testing.T, canceled chan error) string
	}
	servers := []side{
		{"SkiffServer", func(t *testing.T, c chan error) string { return startSkiff(t, &skiffImpl{canceled: c}) }},
		{"KitexServer", func(t *testing.T, c chan error) string { return startKitex(t, &kitexImpl{canceled: c}) }},
	}
	clients := []struct {
		name string
		dial func(t testing.TB, addr string) driver
	}{{"SkiffClient", dialSkiff}, {"KitexClient", dialKitex}}
	for _, sv := range servers {
		for _, cl := range clients {
			t.Run(cl.name+"To"+sv.name, func(t *testing.T) {
				canceled := make(chan error, 1)
				addr := sv.start(t, canceled)
				d := cl.dial(t, addr)
				runChecks(t, boundedCtx(t), d, canceled)
			})
		}
	}
}

// boundedCtx returns a context that ends the test's calls in time.
func boundedCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

func runChecks(t *testing.T, ctx context.Context, d driver, canceled chan error) {
	t.Run("Bidi", func(t *testing.T) {
		r := d.bidi(ctx, []string{"a", "b"})
		if r.err != nil {
			t.Fatalf("bidi: %v", r.err)
		}
		if strings.Join(r.replies, " ") != "a! b!" {
			t.Errorf("replies %q", r.replies)
		}
		if r.header["x-tk"] != "tv" {
			t.Errorf("header %v: want x-tk=tv (the metainfo the client sent, echoed)", r.header)
		}
		if r.trailer["x-count"] != "2" {
			t.Errorf("trailer %v: want x-count=2", r.trailer)
		}
	})
	t.Run("Collect", func(t *testing.T) {
		got, err := d.collect(ctx, []string{"a", "b", "c"})
		if err != nil || got != "a,b,c" {
			t.Fatalf("collect = %q, %v", got, err)
		}
	})
	t.Run("Spread", func(t *testing.T) {
		got, err := d.spread(ctx, 3)
		if err != nil || strings.Join(got, " ") != "m-0 m-1 m-2" {
			t.Fatalf("spread = %q, %v", got, err)
		}
	})
	t.Run("HandlerError", func(t *testing.T) {
		r := d.bidi(ctx, []string{"fail"})
		if r.err == nil || r.biz != nil || !strings.Contains(r.err.Error(), "boom") {
			t.Fatalf("want the handler's error \"boom\", got %v", r.err)
		}
		t.Logf("handler error as the client sees it: %v", r.err)
	})
	t.Run("BizError", func(t *testing.T) {
		r := d.bidi(ctx, []string{"ok", "biz"})
		if r.biz == nil {
			t.Fatalf("want a business error, got %v", r.err)
		}
		if r.biz.code != bizCode || r.biz.msg != bizMsg || r.biz.extra["k"] != "v" {
			t.Fatalf("business error %+v", *r.biz)
		}
		if strings.Join(r.replies, " ") != "ok!" {
			t.Errorf("replies before the error: %q", r.replies)
		}
	})
	t.Run("CancelMidStream", func(t *testing.T) {
		err := d.spreadCancel(ctx)
		if err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("Recv after cancel: %v", err)
		}
		select {
		case herr := <-canceled:
			t.Logf("client error %v; server handler ended with %v", err, herr)
		case <-time.After(5 * time.Second):
			t.Fatal("the server handler did not see the cancellation within 5s")
		}
	})
}

// TestGracefulStop stops a Skiff server while a client reads an endless
// stream: the stream is ended with "unavailable" (stream.ErrServerStopping
// on the server, exception 12006 on the wire), and Stop returns after the
// exit wait.
func TestGracefulStop(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(200*time.Millisecond),
		server.WithLogger(slog.New(slog.DiscardHandler)))
	if err := svr.RegisterService(serviceInfo(), &skiffImpl{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	d := dialSkiff(t, svr.Addr().String()).(skiffDriver)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	cs, err := d.c.NewStream(ctx, "Spread")
	if err != nil {
		t.Fatal(err)
	}
	s := &stream.GenericClientStream[se.EchoRequest, se.EchoResponse]{ClientStream: cs}
	n := int64(-1)
	if err := s.Send(&se.EchoRequest{Message: "go", Seq: &n}); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseSend()
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- svr.Stop() }()
	for {
		_, err := s.Recv()
		if err == nil {
			continue
		}
		if status.CodeOf(err) != status.Unavailable {
			t.Fatalf("stream ended with %v (code %v), want Unavailable", err, status.CodeOf(err))
		}
		break
	}
	if err := <-stopped; !errors.Is(err, server.ErrForcedStop) {
		t.Fatalf("Stop = %v, want ErrForcedStop (the stream was cut)", err)
	}
}
