package h2transport_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// TestKeepalivePolicy: a client pinging more often than the server
// permits gets GOAWAY ENHANCE_YOUR_CALM; one within the policy is kept.
func TestKeepalivePolicy(t *testing.T) {
	hold := func(s stream.RawServerStream) {
		<-s.Context().Done()
	}
	t.Run("TooOften", func(t *testing.T) {
		srv := startServer(t, hold, serverConfig{opts: []h2transport.Option{
			h2transport.WithKeepaliveEnforcement(time.Second, false)}})
		cc := dial(t, srv.addr, h2transport.WithKeepalive(20*time.Millisecond, time.Second, true))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/hold"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cs.Header()
		if err == nil || !errors.Is(err, status.ErrCanceled) && status.CodeOf(err) != status.Unavailable {
			t.Fatalf("stream error %v, want the connection to go away", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for cc.Available() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if cc.Available() {
			t.Fatal("connection still available")
		}
	})
	t.Run("Permitted", func(t *testing.T) {
		srv := startServer(t, hold, serverConfig{opts: []h2transport.Option{
			h2transport.WithKeepaliveEnforcement(10*time.Millisecond, true)}})
		cc := dial(t, srv.addr, h2transport.WithKeepalive(20*time.Millisecond, time.Second, true))
		time.Sleep(300 * time.Millisecond) // about 15 pings
		if !cc.Available() {
			t.Fatal("connection ended by permitted pings")
		}
	})
}

// TestServerKeepaliveClosesDeadPeer: a client that never answers pings is
// disconnected by the server's keepalive.
func TestServerKeepaliveClosesDeadPeer(t *testing.T) {
	srv := startServer(t, echoHandler, serverConfig{opts: []h2transport.Option{
		h2transport.WithServerKeepalive(50*time.Millisecond, 50*time.Millisecond)}})
	r := rawDial(t, srv.addr)
	// Do not answer: read until the server closes the connection.
	start := time.Now()
	for f := r.next(); f != nil; f = r.next() {
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v", d)
	}
}
