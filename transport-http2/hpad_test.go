package h2transport_test

import (
	"testing"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/stream"
)

// A HEADERS frame whose padding is longer than its payload must end the
// connection (RFC 9113 6.2); as a stream error its header block is never
// fed to the hpack decoder and the compression state desynchronises.
func TestHeadersPadPastPayloadIsConnectionError(t *testing.T) {
	srv := startServer(t, func(s stream.RawServerStream) { _ = s.Close(nil) }, serverConfig{})
	r := rawDial(t, srv.addr)
	blk := r.block(":method", "POST", ":scheme", "http", ":path", "/p", ":authority", "x", "x-big", "indexed-into-dynamic-table")
	payload := append([]byte{byte(len(blk) + 10)}, blk...) // pad length > rest
	if err := r.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersPadded|http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, 1, payload); err != nil {
		t.Fatal(err)
	}
	for {
		f := r.next()
		if f == nil {
			t.Fatal("closed without GOAWAY")
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			if f.ErrCode != http2.ErrCodeProtocol {
				t.Fatalf("GOAWAY %v", f.ErrCode)
			}
			return
		case *http2.RSTStreamFrame:
			t.Fatalf("got RST_STREAM %v on stream %d: connection kept with hpack state missing this block", f.ErrCode, f.StreamID)
		}
	}
}
