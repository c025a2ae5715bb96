package server_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/internal/toystream"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// chatService is a streaming service: Chat answers each message with its
// bytes doubled; Slow waits for a signal before answering once.
func chatService(release <-chan struct{}, started chan<- struct{}) *service.Info {
	chat := func(_ context.Context, _ any, args, _ any) error {
		ss := args.(stream.ServerStream)
		if ci := callinfo.From(ss.Context()); ci == nil || ci.Method != "Chat" || ci.Service != "Chat" {
			return status.New(status.Internal, "no call info in the stream's context")
		}
		for {
			var in toycodec.Bytes
			if err := ss.RecvMsg(&in); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			if err := ss.SendMsg(&toycodec.Bytes{B: append(in.B, in.B...)}); err != nil {
				return err
			}
		}
	}
	slow := func(_ context.Context, _ any, args, _ any) error {
		ss := args.(stream.ServerStream)
		started <- struct{}{}
		<-release
		return ss.SendMsg(&toycodec.Bytes{B: []byte("late")})
	}
	newB := func() any { return new(toycodec.Bytes) }
	return &service.Info{
		Name:    "Chat",
		Package: "toy.v1",
		Methods: map[string]*service.MethodInfo{
			"Chat": {Name: "Chat", Handler: chat, NewArgs: newB, NewResult: newB, StreamingMode: service.StreamingBidi},
			"Slow": {Name: "Slow", Handler: slow, NewArgs: newB, NewResult: newB, StreamingMode: service.StreamingServer},
		},
	}
}

func startStreams(t *testing.T, release <-chan struct{}, started chan<- struct{}) *server.Server {
	t.Helper()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
		server.WithStreamProtocols(toystream.Protocol), server.WithStreamCodecs(toystream.Codec),
		server.WithExitWaitTime(5*time.Second))
	if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(echo)); err != nil {
		t.Fatal(err)
	}
	if err := svr.RegisterService(chatService(release, started), struct{}{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr
}

func streamClient(t *testing.T, svc *service.Info, addr string) *client.Client {
	t.Helper()
	cli, err := client.New(svc, client.WithHostPorts(addr), client.WithRPCTimeout(5*time.Second),
		client.WithStreamTransport(toystream.Protocol), client.WithStreamCodec(toystream.Codec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func TestStreamsAndFramedOnOnePort(t *testing.T) {
	svr := startStreams(t, nil, nil)
	addr := svr.Addr().String()

	// Unary over the stream transport.
	sc := streamClient(t, toycodec.Service(), addr)
	var got toycodec.Bytes
	if err := sc.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("over streams")}, &got); err != nil {
		t.Fatal(err)
	}
	if string(got.B) != "over streams" {
		t.Fatalf("stream unary echoed %q", got.B)
	}
	// The same port still serves the framed transport.
	fc := newClient(t, addr)
	if err := fc.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("framed")}, &got); err != nil {
		t.Fatal(err)
	}
	if string(got.B) != "framed" {
		t.Fatalf("framed echoed %q", got.B)
	}

	// A bidirectional stream, routed by the full name toy.v1.Chat.
	cc := streamClient(t, chatService(nil, nil), addr)
	cs, err := cc.NewStream(context.Background(), "Chat")
	if err != nil {
		t.Fatal(err)
	}
	typed := &stream.GenericClientStream[toycodec.Bytes, toycodec.Bytes]{ClientStream: cs}
	for _, m := range []string{"a", "bc"} {
		if err := typed.Send(&toycodec.Bytes{B: []byte(m)}); err != nil {
			t.Fatal(err)
		}
		r, err := typed.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if string(r.B) != m+m {
			t.Fatalf("Chat(%q) = %q", m, r.B)
		}
	}
	if err := typed.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := typed.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after CloseSend Recv = %v, want io.EOF", err)
	}
}

func TestStreamUnknownServiceAndMethod(t *testing.T) {
	svr := startStreams(t, nil, nil)
	addr := svr.Addr().String()
	unknownSvc := &service.Info{Name: "Nope", Package: "toy.v1", Methods: map[string]*service.MethodInfo{}}
	_, err := streamCallRaw(t, unknownSvc, addr, "Echo")
	if status.Convert(err).Code() != status.Unimplemented || !strings.Contains(err.Error(), "unknown service toy.v1.Nope") {
		t.Fatalf("unknown service: %v", err)
	}
	_, err = streamCallRaw(t, chatService(nil, nil), addr, "Missing")
	if status.Convert(err).Code() != status.Unimplemented || !strings.Contains(err.Error(), "unknown method Missing") {
		t.Fatalf("unknown method: %v", err)
	}
}

func streamCallRaw(t *testing.T, svc *service.Info, addr, method string) (*toycodec.Bytes, error) {
	cli := streamClient(t, svc, addr)
	var out toycodec.Bytes
	err := cli.Call(context.Background(), method, &toycodec.Bytes{B: []byte("x")}, &out)
	return &out, err
}

func TestStreamSurvivesGracefulStop(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{}, 1)
	svr := startStreams(t, release, started)
	cc := streamClient(t, chatService(nil, nil), svr.Addr().String())
	cs, err := cc.NewStream(context.Background(), "Slow")
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.SendMsg(&toycodec.Bytes{B: []byte("go")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("handler did not start")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- svr.Stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a stream was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	var got toycodec.Bytes
	if err := cs.RecvMsg(&got); err != nil || string(got.B) != "late" {
		t.Fatalf("in-flight stream: %q, %v", got.B, err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return after the stream ended")
	}
}

func TestSameNameInTwoPackages(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
		server.WithStreamProtocols(toystream.Protocol), server.WithStreamCodecs(toystream.Codec))
	// A protobuf-style service of the same bare name, registered first,
	// answering differently.
	other := toycodec.Service()
	other.Package, other.Codec = "other.v1", "protobuf"
	if err := svr.RegisterService(other, toycodec.Handler(func(context.Context, []byte) ([]byte, error) {
		return []byte("other"), nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(echo)); err != nil {
		t.Fatal(err)
	}
	if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(echo)); err == nil {
		t.Fatal("the same full name registered twice")
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	// Framed toy-codec requests go to the toy-codec service.
	var got toycodec.Bytes
	if err := newClient(t, svr.Addr().String()).Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("toy")}, &got); err != nil || string(got.B) != "toy" {
		t.Fatalf("framed call = %q, %v", got.B, err)
	}
	// Streams name the full service.
	sc := streamClient(t, other, svr.Addr().String())
	if err := sc.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("x")}, &got); err != nil || string(got.B) != "other" {
		t.Fatalf("stream call to other.v1.Toy = %q, %v", got.B, err)
	}
}

// TestStreamDispatchBySharedMethodInfo: two registrations sharing the same
// method descriptors (a shallow copy of a service.Info under another
// package) each reach their own implementation over streams.
func TestStreamDispatchBySharedMethodInfo(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
		server.WithStreamProtocols(toystream.Protocol), server.WithStreamCodecs(toystream.Codec))
	a := toycodec.Service()
	a.Package = "a.v1"
	b := *a // shares a.Methods
	b.Package = "b.v1"
	reply := func(s string) toycodec.Handler {
		return func(context.Context, []byte) ([]byte, error) { return []byte(s), nil }
	}
	if err := svr.RegisterService(a, reply("a")); err != nil {
		t.Fatal(err)
	}
	if err := svr.RegisterService(&b, reply("b")); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	for _, svc := range []*service.Info{a, &b} {
		var got toycodec.Bytes
		err := streamClient(t, svc, svr.Addr().String()).Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("x")}, &got)
		if err != nil || string(got.B) != svc.Package[:1] {
			t.Errorf("%s.Echo = %q, %v; want %q", svc.FullName(), got.B, err, svc.Package[:1])
		}
	}
}
