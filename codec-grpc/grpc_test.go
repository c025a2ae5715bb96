package grpccodec_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

func unary(ctx context.Context, c *grpccodec.Codec, conn stream.ClientConn, v string) (string, error) {
	res := &echoResult{}
	err := c.Unary(ctx, conn, echoService(), "Echo", &echoArgs{Req: wrapperspb.String(v)}, res)
	return res.Success.GetValue(), err
}

func wantCode(t *testing.T, err error, code status.Code, msg string) {
	t.Helper()
	if status.CodeOf(err) != code {
		t.Fatalf("error %v: code %v, want %v", err, status.CodeOf(err), code)
	}
	var se *status.Error
	if msg != "" && (!errors.As(err, &se) || se.Message() != msg) {
		t.Fatalf("error %v: message is not %q", err, msg)
	}
}

func TestUnary(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	got, err := unary(context.Background(), grpccodec.Default, conn, "hello")
	if err != nil || got != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
	s := conn.lastStream()
	req := s.reqHeader
	for _, f := range []struct{ k, v string }{
		{":path", "/test.Echo/Echo"}, {"content-type", "application/grpc"}, {"te", "trailers"},
		{"user-agent", grpccodec.DefaultUserAgent},
	} {
		if req.Get(f.k) != f.v {
			t.Errorf("request %s = %q, want %q", f.k, req.Get(f.k), f.v)
		}
	}
	if req.Get("grpc-timeout") != "" {
		t.Error("grpc-timeout sent without a deadline")
	}
	if req.Get("grpc-accept-encoding") != "" {
		t.Error("grpc-accept-encoding sent by a client that does not compress")
	}
	if h := s.ResponseHeader(); h.Get(":status") != "200" || h.Get("content-type") != "application/grpc" || h.Get("grpc-status") != "" {
		t.Errorf("response header %v", h)
	}
	if tr := s.Trailer(); tr.Get("grpc-status") != "0" || tr.Get("grpc-message") != "" {
		t.Errorf("trailer %v", tr)
	}
}

func TestUnimplemented(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		svc, method, msg string
	}{
		{"test.Echo", "Nope", "unknown method Nope for service test.Echo"},
		{"test.Nope", "Echo", "unknown service test.Nope"},
	} {
		info := echoService()
		if tc.svc == "test.Nope" {
			info.Name = "Nope"
		}
		err := grpccodec.Default.Unary(ctx, conn, info, tc.method, &echoArgs{}, &echoResult{})
		wantCode(t, err, status.Unimplemented, tc.msg)
		h := conn.lastStream().ResponseHeader()
		if h.Get("grpc-status") != "12" || h.Get("content-type") != "application/grpc" || conn.lastStream().Trailer() != nil {
			t.Errorf("%s/%s: not a trailers-only response: %v", tc.svc, tc.method, h)
		}
	}
	// A malformed path.
	c := newMemConn(func(s stream.RawServerStream) { grpccodec.Default.ServeStream(s, echoDispatcher()) })
	defer c.Close()
	raw, _ := c.NewStream(ctx, stream.Header{{Name: ":path", Value: "nope"}, {Name: "content-type", Value: "application/grpc"}})
	_ = raw.CloseSend()
	h, err := raw.Header()
	if err != nil || h.Get("grpc-status") != "12" {
		t.Fatalf("malformed path: %v %v", h, err)
	}
}

// specialMessage is grpc-go's special_status_message interop case.
const specialMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"

func TestStatusCodeAndMessage(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	ctx := context.Background()
	_, err := unary(ctx, grpccodec.Default, conn, "fail:2:test status message")
	wantCode(t, err, status.Unknown, "test status message")
	if !errors.Is(err, status.ErrRemote) {
		t.Error("a status from the server is not a remote error")
	}
	_, err = unary(ctx, grpccodec.Default, conn, "fail:2:"+specialMessage)
	wantCode(t, err, status.Unknown, specialMessage)
	if got := conn.lastStream().ResponseHeader().Get("grpc-message"); got != "%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A" {
		t.Errorf("grpc-message on the wire: %q", got)
	}
	for code := status.Canceled; code <= status.Unauthenticated; code++ {
		_, err := unary(ctx, grpccodec.Default, conn, "fail:"+itoa(int(code))+":m")
		wantCode(t, err, code, "m")
	}
	// An error that is not a status is UNKNOWN; a panic as Invoke
	// reports it.
	_, err = unary(ctx, grpccodec.Default, conn, "panic")
	wantCode(t, err, status.Internal, "panic: boom")
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}

func TestDetailsAndBizError(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	ctx := context.Background()
	_, err := unary(ctx, grpccodec.Default, conn, "details")
	wantCode(t, err, status.InvalidArgument, "bad")
	ds := grpccodec.Details(err)
	if len(ds) != 1 {
		t.Fatalf("details %v", ds)
	}
	var sv wrapperspb.StringValue
	if err := ds[0].UnmarshalTo(&sv); err != nil || sv.Value != "why" {
		t.Fatalf("detail %v %v", &sv, err)
	}
	_, err = unary(ctx, grpccodec.Default, conn, "biz")
	var be *status.BizError
	if !errors.As(err, &be) || be.Code != 1001 || be.Message != "quota exceeded" || be.Extra["k"] != "v" {
		t.Fatalf("biz error: %v", err)
	}
	if h := conn.lastStream().ResponseHeader(); h.Get("grpc-status") != "13" || h.Get("biz-status") != "1001" {
		t.Errorf("biz error on the wire: %v", h)
	}
}

func TestMetadata(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	bin := "\x00\x01\xfe\xff"
	ctx := grpccodec.NewOutgoingContext(context.Background(), grpccodec.Pairs("X-Echo-Initial", "v1", "x-echo-data-bin", bin))
	ctx = grpccodec.AppendToOutgoingContext(ctx, "x-echo-initial", "v2", "content-type", "text/plain")
	var hdr, trl grpccodec.MD
	ctx = grpccodec.WithResponseTrailer(grpccodec.WithResponseHeader(ctx, &hdr), &trl)
	ua, err := unary(ctx, grpccodec.Default, conn, "meta")
	if err != nil {
		t.Fatal(err)
	}
	if ua != grpccodec.DefaultUserAgent {
		t.Errorf("incoming user-agent %q", ua)
	}
	if got := hdr.Get("x-echo-initial"); len(got) != 2 || got[0] != "v1" || got[1] != "v2" {
		t.Errorf("header %v", hdr)
	}
	if got := hdr.Get("x-echo-data-bin"); len(got) != 1 || got[0] != bin {
		t.Errorf("binary header %v", hdr)
	}
	if trl.Get("x-trailer")[0] != "t" || trl.Get("x-trailer-bin")[0] != "\x00\xff" {
		t.Errorf("trailer %v", trl)
	}
	s := conn.lastStream()
	if s.reqHeader.Get("x-echo-data-bin") != "AAH+/w==" || s.reqHeader.Get("content-type") != "application/grpc" {
		t.Errorf("request on the wire %v", s.reqHeader)
	}
	if s.Trailer().Get("x-trailer-bin") != "AP8=" {
		t.Errorf("trailer on the wire %v", s.Trailer())
	}

	// Unpadded base64 is accepted, an invalid key is refused.
	c := newMemConn(func(rs stream.RawServerStream) { grpccodec.Default.ServeStream(rs, echoDispatcher()) })
	defer c.Close()
	raw, _ := c.NewStream(context.Background(), stream.Header{
		{Name: ":path", Value: "/test.Echo/Echo"}, {Name: "content-type", Value: "application/grpc"},
		{Name: "x-echo-a-bin", Value: "AAH+/w"},
	})
	_, _ = raw.Write(frameOf(t, "meta"))
	_ = raw.CloseSend()
	_, _ = io.Copy(io.Discard, readerOf(raw))
	if h := c.lastStream().ResponseHeader(); h.Get("x-echo-a-bin") != "AAH+/w==" {
		t.Errorf("unpadded binary value: %v", h)
	}
	bad := grpccodec.AppendToOutgoingContext(context.Background(), "bad key", "v")
	_, err = unary(bad, grpccodec.Default, conn, "x")
	wantCode(t, err, status.Internal, "")
}

func TestMetainfo(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	ctx := metainfo.WithValue(context.Background(), "TRACE_ID", "t1")
	ctx = metainfo.WithPersistentValue(ctx, "TENANT", "acme")
	ctx = metainfo.WithBackwardValues(ctx)
	got, err := unary(ctx, grpccodec.Default, conn, "metainfo")
	if err != nil || got != "t1/acme" {
		t.Fatalf("got %q, %v", got, err)
	}
	if h := conn.lastStream().reqHeader; h.Get("rpc-transit-trace-id") != "t1" || h.Get("rpc-persist-tenant") != "acme" {
		t.Errorf("request %v", h)
	}
	if v, ok := metainfo.RecvBackwardValue(ctx, "SERVER_NODE"); !ok || v != "n1" {
		t.Errorf("backward value %q %v", v, ok)
	}
}

func TestDeadline(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := unary(ctx, grpccodec.Default, conn, "deadline")
	if err != nil || got != "10s" {
		t.Fatalf("server deadline %q, %v", got, err)
	}
	if to := conn.lastStream().reqHeader.Get("grpc-timeout"); !strings.HasSuffix(to, "u") && !strings.HasSuffix(to, "m") {
		t.Errorf("grpc-timeout %q", to)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	start := time.Now()
	_, err = unary(short, grpccodec.Default, conn, "sleep")
	wantCode(t, err, status.DeadlineExceeded, "")
	if time.Since(start) > 5*time.Second {
		t.Fatalf("%v after %v", err, time.Since(start))
	}
	conn.Wait()
	// An expired context fails before sending.
	_, err = unary(short, grpccodec.Default, conn, "x")
	wantCode(t, err, status.DeadlineExceeded, "")
}

func TestServerDeadlineUnblocksRecv(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	// The client sends grpc-timeout 50ms but never ends its side; the
	// server's Concat handler waits in Recv until its deadline resets
	// the stream.
	raw, err := conn.NewStream(context.Background(), stream.Header{
		{Name: ":path", Value: "/test.Echo/Concat"}, {Name: "content-type", Value: "application/grpc"},
		{Name: "grpc-timeout", Value: "50m"},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { conn.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		raw.Reset(stream.CodeCancel)
		t.Fatal("the handler did not return after its deadline")
	}
}

func TestExpiredOnArrival(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	raw, _ := conn.NewStream(context.Background(), stream.Header{
		{Name: ":path", Value: "/test.Echo/Echo"}, {Name: "content-type", Value: "application/grpc"}, {Name: "grpc-timeout", Value: "0n"},
	})
	_ = raw.CloseSend()
	if h, _ := raw.Header(); h.Get("grpc-status") != "4" {
		t.Fatalf("expired on arrival: %v", h)
	}
	raw, _ = conn.NewStream(context.Background(), stream.Header{
		{Name: ":path", Value: "/test.Echo/Echo"}, {Name: "content-type", Value: "application/grpc"}, {Name: "grpc-timeout", Value: "1x"},
	})
	_ = raw.CloseSend()
	if h, _ := raw.Header(); h.Get("grpc-status") != "13" {
		t.Fatalf("malformed timeout: %v", h)
	}
}

func TestCancel(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := unary(ctx, grpccodec.Default, conn, "sleep")
	wantCode(t, err, status.Canceled, "")
	if !errors.Is(err, status.ErrCanceled) {
		t.Fatal(err)
	}
	conn.Wait()
}

type strStream = stream.GenericClientStream[wrapperspb.StringValue, wrapperspb.StringValue]

func open(t *testing.T, ctx context.Context, c *grpccodec.Codec, conn stream.ClientConn, method string) *strStream {
	t.Helper()
	cs, err := c.NewClientStream(ctx, conn, echoService(), method)
	if err != nil {
		t.Fatal(err)
	}
	return &strStream{ClientStream: cs}
}

func TestStreaming(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	ctx := context.Background()

	// Server streaming.
	s := open(t, ctx, grpccodec.Default, conn, "Count")
	if err := s.Send(wrapperspb.String("3")); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseSend()
	var got []string
	for {
		m, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Value)
	}
	if strings.Join(got, ",") != "0,1,2" {
		t.Fatalf("server stream %v", got)
	}

	// Client streaming.
	s = open(t, ctx, grpccodec.Default, conn, "Concat")
	for _, v := range []string{"a", "b", "c"} {
		if err := s.Send(wrapperspb.String(v)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.CloseAndRecv()
	if err != nil || m.Value != "abc" {
		t.Fatalf("client stream %v %v", m, err)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("after the response: %v", err)
	}

	// Bidi, ended by the server with a status and trailer.
	s = open(t, ctx, grpccodec.Default, conn, "Chat")
	h, err := s.Header()
	if err != nil || h.Get("x-chat") != "hi" {
		t.Fatalf("header %v %v", h, err)
	}
	for _, v := range []string{"ping", "pong"} {
		if err := s.Send(wrapperspb.String(v)); err != nil {
			t.Fatal(err)
		}
		m, err := s.Recv()
		if err != nil || m.Value != v {
			t.Fatalf("echo %v %v", m, err)
		}
	}
	_ = s.Send(wrapperspb.String("end"))
	_, err = s.Recv()
	wantCode(t, err, status.Aborted, "ended")
	if s.Trailer().Get("x-bye") != "bye" {
		t.Errorf("trailer %v", s.Trailer())
	}
	// Sending after the server ended the call gives io.EOF.
	conn.Wait()
	if err := s.Send(wrapperspb.String("late")); err != io.EOF {
		t.Errorf("send after the end: %v", err)
	}

	// Empty stream: a bidi call with no messages ends OK.
	s = open(t, ctx, grpccodec.Default, conn, "Chat")
	_ = s.CloseSend()
	if _, err := s.Recv(); err != io.EOF {
		t.Fatal(err)
	}
}

func TestCancelStream(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s := open(t, ctx, grpccodec.Default, conn, "Chat")
	if err := s.Send(wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err := s.Recv()
	wantCode(t, err, status.Canceled, "")
	conn.Wait() // the handler returned
}

func TestMaxRecvMsgSize(t *testing.T) {
	small := grpccodec.New(grpccodec.Options{MaxRecvMsgSize: 100})
	conn := serve(small, echoDispatcher())
	defer conn.Close()
	ctx := context.Background()
	_, err := unary(ctx, grpccodec.Default, conn, strings.Repeat("x", 200))
	wantCode(t, err, status.ResourceExhausted, "grpc: received message larger than max (203 vs. 100)")
	// The client side bounds the response the same way.
	conn2 := serve(grpccodec.Default, echoDispatcher())
	defer conn2.Close()
	_, err = unary(ctx, small, conn2, strings.Repeat("x", 200))
	wantCode(t, err, status.ResourceExhausted, "")
	// The default bound is 4 MiB.
	_, err = unary(ctx, grpccodec.Default, conn2, strings.Repeat("x", 4<<20))
	wantCode(t, err, status.ResourceExhausted, "")
	got, err := unary(ctx, grpccodec.Default, conn2, strings.Repeat("x", 4<<20-10))
	if err != nil || len(got) != 4<<20-10 {
		t.Fatal(len(got), err)
	}
}

func TestGzip(t *testing.T) {
	gz := grpccodec.New(grpccodec.Options{SendCompressor: "gzip"})
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	msg := strings.Repeat("compressible ", 100)
	got, err := unary(context.Background(), gz, conn, msg)
	if err != nil || got != msg {
		t.Fatal(err)
	}
	s := conn.lastStream()
	if s.reqHeader.Get("grpc-encoding") != "gzip" || s.ResponseHeader().Get("grpc-encoding") != "gzip" {
		t.Errorf("encodings %v / %v", s.reqHeader, s.ResponseHeader())
	}
	// An unknown encoding is UNIMPLEMENTED, with the accepted ones.
	c := newMemConn(func(rs stream.RawServerStream) { grpccodec.Default.ServeStream(rs, echoDispatcher()) })
	defer c.Close()
	raw, _ := c.NewStream(context.Background(), stream.Header{
		{Name: ":path", Value: "/test.Echo/Echo"}, {Name: "content-type", Value: "application/grpc"}, {Name: "grpc-encoding", Value: "snappy"},
	})
	_ = raw.CloseSend()
	h, _ := raw.Header()
	if h.Get("grpc-status") != "12" || h.Get("grpc-accept-encoding") != "gzip" {
		t.Errorf("unknown encoding: %v", h)
	}
	// A compressed flag without an encoding is INTERNAL.
	raw, _ = c.NewStream(context.Background(), stream.Header{{Name: ":path", Value: "/test.Echo/Echo"}, {Name: "content-type", Value: "application/grpc"}})
	f := frameOf(t, "x")
	f[0] = 1
	_, _ = raw.Write(f)
	_ = raw.CloseSend()
	_, _ = io.Copy(io.Discard, readerOf(raw))
	if h := c.lastStream().ResponseHeader(); h.Get("grpc-status") != "13" {
		t.Errorf("compressed flag without encoding: %v", h)
	}
}

// readerOf reads a raw client stream to its end.
func readerOf(raw stream.RawClientStream) io.Reader {
	_, _ = raw.Header()
	return raw
}

// frameOf returns a request frame holding echoArgs for v.
func frameOf(t *testing.T, v string) []byte {
	t.Helper()
	p := marshal(t, wrapperspb.String(v))
	return grpccodec.AppendFrame(nil, false, p)
}

func TestHTTPStatus(t *testing.T) {
	for _, tc := range []struct {
		status string
		code   status.Code
	}{{"400", status.Internal}, {"401", status.Unauthenticated}, {"403", status.PermissionDenied},
		{"404", status.Unimplemented}, {"429", status.Unavailable}, {"502", status.Unavailable},
		{"503", status.Unavailable}, {"504", status.Unavailable}, {"500", status.Unknown}} {
		conn := newMemConn(func(s stream.RawServerStream) {
			_ = s.WriteHeader(stream.Header{{Name: ":status", Value: tc.status}, {Name: "content-type", Value: "text/html"}})
			_ = s.Close(nil)
		})
		_, err := unary(context.Background(), grpccodec.Default, conn, "x")
		wantCode(t, err, tc.code, "")
		conn.Close()
	}
	// 200 with a content type that is not gRPC.
	conn := newMemConn(func(s stream.RawServerStream) {
		_ = s.WriteHeader(stream.Header{{Name: "content-type", Value: "text/html"}})
		_, _ = s.Write([]byte("<html>"))
		_ = s.Close(nil)
	})
	defer conn.Close()
	_, err := unary(context.Background(), grpccodec.Default, conn, "x")
	wantCode(t, err, status.Unknown, "")
	// A server that ends without trailers.
	conn2 := newMemConn(func(s stream.RawServerStream) {
		_ = s.WriteHeader(stream.Header{{Name: "content-type", Value: "application/grpc"}})
		_ = s.Close(nil)
	})
	defer conn2.Close()
	_, err = unary(context.Background(), grpccodec.Default, conn2, "x")
	wantCode(t, err, status.Internal, "")
	// Two response messages in a unary call.
	conn3 := newMemConn(func(s stream.RawServerStream) {
		f := grpccodec.AppendFrame(nil, false, marshal(t, wrapperspb.String("a")))
		_ = s.WriteHeader(stream.Header{{Name: "content-type", Value: "application/grpc"}})
		_, _ = s.Write(append(f, f...))
		_ = s.Close(stream.Header{{Name: "grpc-status", Value: "0"}})
	})
	defer conn3.Close()
	_, err = unary(context.Background(), grpccodec.Default, conn3, "x")
	wantCode(t, err, status.Internal, "")
	// An OK status without a message in a unary call.
	conn4 := newMemConn(func(s stream.RawServerStream) { _ = s.Close(stream.Header{{Name: "grpc-status", Value: "0"}}) })
	defer conn4.Close()
	_, err = unary(context.Background(), grpccodec.Default, conn4, "x")
	wantCode(t, err, status.Internal, "")
}

func TestDetect(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/grpc": true, "application/grpc+proto": true, "application/grpc+thrift": true,
		"application/grpc;charset=utf-8": true, "Application/GRPC+json": true,
		"application/grpc-web": false, "application/json": false, "": false, "application/grp": false,
	} {
		if got := grpccodec.Default.Detect(stream.Header{{Name: "content-type", Value: ct}}); got != want {
			t.Errorf("Detect(%q) = %v", ct, got)
		}
	}
	if grpccodec.Default.Name() != "grpc" {
		t.Error(grpccodec.Default.Name())
	}
	found := false
	for _, c := range stream.Codecs() {
		found = found || c == stream.Codec(grpccodec.Default)
	}
	if !found {
		t.Error("not registered")
	}
}

// BenchmarkUnary1K is a whole unary call of a 1 KB message, client and
// server codec, over the in-memory test transport (whose own costs are
// included).
func BenchmarkUnary1K(b *testing.B) {
	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	ctx := context.Background()
	v := strings.Repeat("x", 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unary(ctx, grpccodec.Default, conn, v); err != nil {
			b.Fatal(err)
		}
	}
}
