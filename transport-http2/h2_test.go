package h2transport_test

import (
	"bytes"
	"context"
	"testing"
	"time"
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
