package h2transport_test

import (
	"context"
	"io"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

const bdpTransfer = 32 << 20

type windows struct{ stream, conn int64 }

// uploadWindows sends bdpTransfer bytes to a server that reads them and
// returns the server's receive windows at the end.
func uploadWindows(t *testing.T, srvOpts, cliOpts []h2transport.Option) windows {
	t.Helper()
	got := make(chan windows, 1)
	srv := startServer(t, func(s stream.RawServerStream) {
		n, err := io.Copy(io.Discard, s)
		if err != nil || n != bdpTransfer {
			t.Errorf("server read %d bytes, %v", n, err)
		}
		sw, cw, _ := h2transport.RecvWindows(s)
		got <- windows{sw, cw}
		_ = s.Close(nil)
	}, serverConfig{opts: srvOpts})
	cc := dial(t, srv.addr, cliOpts...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/up"}})
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 256<<10)
	for sent := 0; sent < bdpTransfer; sent += len(chunk) {
		if _, err := cs.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, cs); err != nil {
		t.Fatal(err)
	}
	return <-got
}

// TestBDPWindowsGrow: a 32 MiB upload on loopback makes the server's
// receive windows grow above their initial sizes, within the caps; with
// fixed windows (WithInitialWindowSize) they stay as set.
func TestBDPWindowsGrow(t *testing.T) {
	w := uploadWindows(t, nil, nil)
	t.Logf("server windows after %d MiB: stream %d KiB, connection %d KiB", bdpTransfer>>20, w.stream>>10, w.conn>>10)
	// The connection window (1 MiB) already exceeds one stream's product
	// on loopback: it grows only when the estimate passes it.
	if w.stream <= h2transport.DefaultInitialWindowSize || w.conn < h2transport.DefaultConnWindowSize {
		t.Errorf("windows did not grow: %+v", w)
	}
	if w.stream > h2transport.MaxStreamWindow || w.conn > h2transport.MaxConnWindow {
		t.Errorf("windows above the caps: %+v", w)
	}

	fixed := []h2transport.Option{h2transport.WithInitialWindowSize(h2transport.DefaultInitialWindowSize)}
	w = uploadWindows(t, fixed, nil)
	if w.stream != h2transport.DefaultInitialWindowSize || w.conn != h2transport.DefaultConnWindowSize {
		t.Errorf("fixed windows changed: %+v", w)
	}
}

// TestBDPDownload: a 32 MiB download grows the client's windows, and the
// client's BDP pings (one per batch of DATA) are no strikes under the
// server's default ping policy: the connection stays up.
func TestBDPDownload(t *testing.T) {
	chunk := make([]byte, 256<<10)
	srv := startServer(t, func(s stream.RawServerStream) {
		for sent := 0; sent < bdpTransfer; sent += len(chunk) {
			if _, err := s.Write(chunk); err != nil {
				s.Reset(stream.CodeInternal)
				return
			}
		}
		_ = s.Close(nil)
	}, serverConfig{})
	cc := dial(t, srv.addr)
	for round := 0; round < 2; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/down"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := cs.CloseSend(); err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, cs)
		if err != nil || n != bdpTransfer {
			t.Fatalf("read %d bytes, %v", n, err)
		}
		sw, cw, unread := h2transport.RecvWindows(cs)
		cancel()
		t.Logf("client windows after %d MiB: stream %d KiB, connection %d KiB", bdpTransfer>>20, sw>>10, cw>>10)
		if sw <= h2transport.DefaultInitialWindowSize || cw < h2transport.DefaultConnWindowSize {
			t.Errorf("client windows did not grow: %d, %d", sw, cw)
		}
		if unread != 0 {
			t.Errorf("%d bytes counted unread after the stream was read", unread)
		}
	}
	if !cc.Available() {
		t.Fatal("connection went away during the downloads")
	}
	if errs := srv.serveErrors(); len(errs) > 0 {
		t.Fatalf("server connection errors: %v", errs)
	}
}

// TestBDPPingPolicy: a PING carrying the BDP payload is forgiven once per
// batch of DATA the server wrote, as a client measuring the product sends
// it; sent without DATA in between, it is struck like any other PING.
func TestBDPPingPolicy(t *testing.T) {
	srv := startServer(t, func(s stream.RawServerStream) {
		buf := make([]byte, 16)
		for {
			// One 1 KiB reply per byte of request.
			if _, err := s.Read(buf[:1]); err != nil {
				_ = s.Close(nil)
				return
			}
			if _, err := s.Write(make([]byte, 1024)); err != nil {
				return
			}
			if err := s.Flush(); err != nil {
				return
			}
		}
	}, serverConfig{})
	r := rawDial(t, srv.addr)
	r.request(1, false)
	waitFor := func(pred func(http2.Frame) bool) {
		t.Helper()
		for {
			f := r.next()
			if f == nil {
				t.Fatal("connection ended")
			}
			if g, ok := f.(*http2.GoAwayFrame); ok {
				t.Fatalf("GOAWAY %v %q", g.ErrCode, g.DebugData())
			}
			if pred(f) {
				return
			}
		}
	}
	isData := func(f http2.Frame) bool { d, ok := f.(*http2.DataFrame); return ok && len(d.Data()) > 0 }
	isAck := func(f http2.Frame) bool { p, ok := f.(*http2.PingFrame); return ok && p.IsAck() }
	for i := 0; i < 10; i++ {
		if err := r.fr.WriteData(1, false, []byte{1}); err != nil {
			t.Fatal(err)
		}
		waitFor(isData)
		if err := r.fr.WritePing(false, h2transport.BDPPing); err != nil {
			t.Fatal(err)
		}
		waitFor(isAck)
	}
	// The same payload without DATA in between: strikes.
	for i := 0; i < 5; i++ {
		var data [8]byte
		copy(data[:], h2transport.BDPPing[:])
		if err := r.fr.WritePing(false, data); err != nil {
			break // the server may have closed already
		}
	}
	expectGoAway(t, r, http2.ErrCodeEnhanceYourCalm, "too_many_pings")
}

// TestConnWindowBoundsUnread: a client that fills streams whose handlers
// never read can send no more than the connection window: DATA waiting
// unread keeps its connection credit, so what one connection buffers is
// bounded by its connection window, whatever the number of streams.
func TestConnWindowBoundsUnread(t *testing.T) {
	release := make(chan struct{})
	srv := startServer(t, func(s stream.RawServerStream) {
		select {
		case <-release:
		case <-s.Context().Done():
		}
	}, serverConfig{})
	defer close(release)
	r := rawDial(t, srv.addr)
	// The raw client never answers the server's BDP pings: the windows
	// keep their initial sizes.
	connWin := int64(65535)
	const streams = 64
	streamWin := make(map[uint32]int64, streams)
	for i := uint32(0); i < streams; i++ {
		id := 2*i + 1
		r.request(id, false)
		streamWin[id] = 65535 // the client's view until SETTINGS say otherwise
	}
	sent := int64(0)
	frame := make([]byte, 16<<10)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		progress := false
		for id, w := range streamWin {
			n := min(int64(len(frame)), w, connWin)
			if n <= 0 {
				continue
			}
			if err := r.fr.WriteData(id, false, frame[:n]); err != nil {
				t.Fatal(err)
			}
			streamWin[id] -= n
			connWin -= n
			sent += n
			progress = true
		}
		// Take the server's window updates for a while.
		_ = r.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		for {
			f, err := r.fr.ReadFrame()
			if err != nil {
				break
			}
			switch f := f.(type) {
			case *http2.WindowUpdateFrame:
				if f.StreamID == 0 {
					connWin += int64(f.Increment)
				} else {
					streamWin[f.StreamID] += int64(f.Increment)
				}
				progress = true
			case *http2.SettingsFrame:
				if v, ok := f.Value(http2.SettingInitialWindowSize); ok && !f.IsAck() {
					t.Fatalf("windows grew to %d without PING answers", v)
				}
			case *http2.GoAwayFrame:
				t.Fatalf("GOAWAY %v", f.ErrCode)
			}
		}
		if !progress {
			break
		}
	}
	t.Logf("sent %d KiB to %d stalled streams", sent>>10, streams)
	if limit := int64(h2transport.DefaultConnWindowSize); sent > limit {
		t.Fatalf("the server let %d bytes reach streams nobody reads, above its connection window %d", sent, limit)
	}
	if sent < h2transport.DefaultConnWindowSize/2 {
		t.Fatalf("sent only %d bytes: the connection window was not granted", sent)
	}
}
