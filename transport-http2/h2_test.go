package h2transport_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

func TestEchoRoundTrip(t *testing.T) {
	srv := startServer(t, echoHandler, serverConfig{})
	cc := dial(t, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, size := range []int{0, 1, 1024, 100 << 10, 1 << 20} {
		body := bytes.Repeat([]byte("abcdefgh"), size/8+1)[:size]
		out, h, tr, err := call(ctx, cc, "/echo", body)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(out, body) {
			t.Fatalf("size %d: got %d bytes back", size, len(out))
		}
		if h.Get(":status") != "200" || h.Get("content-type") != "application/test" {
			t.Fatalf("header %v", h)
		}
		if tr.Get("x-status") != "ok" || tr.Get("x-path") != "/echo" {
			t.Fatalf("trailer %v", tr)
		}
	}
	if n := cc.Streams(); n != 0 {
		t.Fatalf("Streams() = %d after calls", n)
	}
}

// TestHandlerEnds: a handler that returns without Close (or panics) resets
// its stream; a trailers-only response carries its fields in one block.
func TestHandlerEnds(t *testing.T) {
	srv := startServer(t, func(s stream.RawServerStream) {
		switch s.Header().Get(":path") {
		case "/return":
		case "/panic":
			panic("handler bug")
		case "/trailers-only":
			_ = s.Close(stream.Header{{Name: "grpc-status", Value: "12"}})
		}
	}, serverConfig{})
	cc := dial(t, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, path := range []string{"/return", "/panic"} {
		_, _, _, err := call(ctx, cc, path, []byte("x"))
		if status.CodeOf(err) != status.Internal {
			t.Fatalf("%s: error %v, want a reset (internal)", path, err)
		}
	}
	out, h, tr, err := call(ctx, cc, "/trailers-only", nil)
	if err != nil || len(out) != 0 || h.Get(":status") != "200" || h.Get("grpc-status") != "12" || tr.Get("grpc-status") != "12" {
		t.Fatalf("trailers-only: %q %v %v %v", out, h, tr, err)
	}
	if n := cc.Streams(); n != 0 {
		t.Fatalf("Streams() = %d", n)
	}
}
