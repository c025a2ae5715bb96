package h2transport_test

import (
	"io"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/stream"
)

// Padding-only DATA frames use up the stream window; the server must give
// it back although there is nothing for the handler to read.
func TestPaddingOnlyDataReturnsCredit(t *testing.T) {
	got := make(chan []byte, 1)
	srv := startServer(t, func(s stream.RawServerStream) {
		b, _ := io.ReadAll(s)
		got <- b
		_ = s.Close(nil)
	}, serverConfig{})
	r := rawDial(t, srv.addr)
	r.request(1, false)
	pad := make([]byte, 255)
	sent := 0
	for sent+256 <= 65535 {
		if err := r.fr.WriteDataPadded(1, false, nil, pad); err != nil {
			t.Fatal(err)
		}
		sent += 256
	}
	// A compliant client now waits for WINDOW_UPDATE on stream 1.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		_ = r.nc.SetReadDeadline(deadline)
		f, err := r.fr.ReadFrame()
		if err != nil {
			break
		}
		if w, ok := f.(*http2.WindowUpdateFrame); ok && w.StreamID == 1 {
			t.Logf("stream WINDOW_UPDATE %d", w.Increment)
			return
		}
	}
	t.Fatalf("sent %d bytes of padding-only DATA on stream 1 (window 65535): no stream WINDOW_UPDATE within 2s; stream stalls forever", sent)
}
