package h2transport_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// rawConn is a hand-driven HTTP/2 client for sending bad input.
type rawConn struct {
	t    *testing.T
	nc   net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

func rawDial(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	r := &rawConn{t: t, nc: nc, fr: http2.NewFramer(nc, nc)}
	r.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	r.enc = hpack.NewEncoder(&r.hbuf)
	if _, err := nc.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	if err := r.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// Wait for the server's SETTINGS and acknowledge them.
	f := r.next()
	if _, ok := f.(*http2.SettingsFrame); !ok {
		t.Fatalf("first server frame %T, want SETTINGS", f)
	}
	if err := r.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	return r
}

// next reads the next frame within 5 seconds; nil on EOF.
func (r *rawConn) next() http2.Frame {
	r.t.Helper()
	_ = r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := r.fr.ReadFrame()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			r.t.Fatal("no frame from the server within 5s")
		}
		return nil
	}
	return f
}

func (r *rawConn) block(fields ...string) []byte {
	r.hbuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = r.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return append([]byte(nil), r.hbuf.Bytes()...)
}

func (r *rawConn) request(id uint32, end bool, extra ...string) {
	r.t.Helper()
	fields := append([]string{":method", "POST", ":scheme", "http", ":path", "/raw", ":authority", "x"}, extra...)
	if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.block(fields...), EndHeaders: true, EndStream: end}); err != nil {
		r.t.Fatal(err)
	}
}

// waitGoAway reads until GOAWAY and returns it (nil if the connection
// ended without one).
func (r *rawConn) waitGoAway() *http2.GoAwayFrame {
	r.t.Helper()
	for {
		f := r.next()
		if f == nil {
			return nil
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return g
		}
	}
}

// waitRST reads until RST_STREAM of stream id and returns its code.
func (r *rawConn) waitRST(id uint32) (http2.ErrCode, bool) {
	r.t.Helper()
	for {
		f := r.next()
		if f == nil {
			return 0, false
		}
		if g, ok := f.(*http2.RSTStreamFrame); ok && g.StreamID == id {
			return g.ErrCode, true
		}
		if _, ok := f.(*http2.GoAwayFrame); ok {
			return 0, false
		}
	}
}

func expectGoAway(t *testing.T, r *rawConn, code http2.ErrCode, debug string) {
	t.Helper()
	g := r.waitGoAway()
	if g == nil {
		t.Fatalf("connection ended without GOAWAY, want %v", code)
	}
	if g.ErrCode != code {
		t.Fatalf("GOAWAY %v (%q), want %v", g.ErrCode, g.DebugData(), code)
	}
	if debug != "" && !strings.Contains(string(g.DebugData()), debug) {
		t.Fatalf("GOAWAY debug %q, want %q", g.DebugData(), debug)
	}
	// The server closes the connection after GOAWAY.
	for f := r.next(); f != nil; f = r.next() {
	}
}

// stillServes checks that another client is served normally.
func stillServes(t *testing.T, addr string) {
	t.Helper()
	cc := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, _, _, err := call(ctx, cc, "/ok", []byte("still here"))
	if err != nil || string(out) != "still here" {
		t.Fatalf("other client: %q, %v", out, err)
	}
}

func TestBadInput(t *testing.T) {
	slow := func(s stream.RawServerStream) {
		if s.Header().Get(":path") == "/raw" {
			<-s.Context().Done()
			return
		}
		echoHandler(s)
	}
	srv := startServer(t, slow, serverConfig{opts: []h2transport.Option{
		h2transport.WithMaxConcurrentStreams(5),
		h2transport.WithMaxResetRate(50, 1),
	}})

	t.Run("MalformedFrame", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		// A SETTINGS frame whose length is not a multiple of 6.
		_ = r.fr.WriteRawFrame(http2.FrameSettings, 0, 0, []byte{0, 1, 0})
		expectGoAway(t, r, http2.ErrCodeFrameSize, "")
		stillServes(t, srv.addr)
	})
	t.Run("DataOnStreamZero", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		_ = r.fr.WriteRawFrame(http2.FrameData, 0, 0, []byte("x"))
		expectGoAway(t, r, http2.ErrCodeProtocol, "")
	})
	t.Run("DataPadTooBig", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		r.request(1, false)
		// Pad length 9 with 3 bytes after it (RFC 9113 section 6.1).
		_ = r.fr.WriteRawFrame(http2.FrameData, http2.FlagDataPadded, 1, []byte{9, 'a', 'b', 'c'})
		expectGoAway(t, r, http2.ErrCodeProtocol, "pad size")
		stillServes(t, srv.addr)
	})
	t.Run("PaddedDataServed", func(t *testing.T) {
		// Valid padding is stripped: the handler reads only the data.
		r := rawDial(t, srv.addr)
		if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true,
			BlockFragment: r.block(":method", "POST", ":scheme", "http", ":path", "/ok", ":authority", "x")}); err != nil {
			t.Fatal(err)
		}
		if err := r.fr.WriteDataPadded(1, false, []byte("pad"), make([]byte, 7)); err != nil {
			t.Fatal(err)
		}
		if err := r.fr.WriteDataPadded(1, true, []byte("ded"), nil); err != nil {
			t.Fatal(err)
		}
		var got []byte
		for {
			f := r.next()
			if f == nil {
				t.Fatal("connection ended before the response")
			}
			if d, ok := f.(*http2.DataFrame); ok && d.StreamID == 1 {
				got = append(got, d.Data()...)
			}
			if h, ok := f.(*http2.MetaHeadersFrame); ok && h.StreamID == 1 && h.StreamEnded() {
				break
			}
		}
		if string(got) != "padded" {
			t.Fatalf("echo %q, want %q", got, "padded")
		}
	})
	t.Run("DataPaddedWithoutPadLength", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		r.request(1, false)
		_ = r.fr.WriteRawFrame(http2.FrameData, http2.FlagDataPadded, 1, nil)
		expectGoAway(t, r, http2.ErrCodeProtocol, "pad length")
	})
	t.Run("FrameTooLarge", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		r.request(1, false)
		if err := r.fr.WriteData(1, false, make([]byte, 20000)); err != nil { // over 16384
			t.Fatal(err)
		}
		expectGoAway(t, r, http2.ErrCodeFrameSize, "")
	})
	t.Run("StreamIDReused", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		r.request(5, false)
		r.request(3, false) // decreasing
		expectGoAway(t, r, http2.ErrCodeProtocol, "")
		stillServes(t, srv.addr)
	})
	t.Run("EvenStreamID", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		r.request(2, false)
		expectGoAway(t, r, http2.ErrCodeProtocol, "")
	})
	t.Run("HeaderListOverLimit", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		// Just over 16 KiB in many fields: the stream is reset, the
		// connection lives. (One field longer than the limit is an hpack
		// string over its bound: x/net's decoder ends the connection with
		// COMPRESSION_ERROR.)
		var many []string
		for i := range 20 {
			many = append(many, "x-f"+strconv.Itoa(i), strings.Repeat("a", 1000))
		}
		r.request(1, true, many...)
		if code, ok := r.waitRST(1); !ok || code != http2.ErrCodeFrameSize {
			t.Fatalf("RST_STREAM %v %v, want FRAME_SIZE_ERROR", code, ok)
		}
		r.request(3, true)
		// Far over the limit (in CONTINUATION frames): GOAWAY.
		huge := []string{":method", "POST", ":scheme", "http", ":path", "/raw"}
		for i := range 200 {
			huge = append(huge, "x-h"+strconv.Itoa(i), strings.Repeat("b", 1000))
		}
		blk := r.block(huge...)
		_ = r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: blk[:16000], EndHeaders: false})
		for rest := blk[16000:]; len(rest) > 0; {
			n := min(len(rest), 16000)
			_ = r.fr.WriteContinuation(5, n == len(rest), rest[:n])
			rest = rest[n:]
		}
		expectGoAway(t, r, http2.ErrCodeProtocol, "")
		stillServes(t, srv.addr)
	})
	t.Run("TooManyStreams", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		for id := uint32(1); id <= 11; id += 2 {
			r.request(id, false) // streams 1..9 fit (limit 5), 11 does not
		}
		if code, ok := r.waitRST(11); !ok || code != http2.ErrCodeRefusedStream {
			t.Fatalf("RST_STREAM %v %v, want REFUSED_STREAM", code, ok)
		}
	})
	t.Run("PingFlood", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		for i := range 100 {
			if err := r.fr.WritePing(false, [8]byte{byte(i)}); err != nil {
				break
			}
		}
		expectGoAway(t, r, http2.ErrCodeEnhanceYourCalm, "too_many_pings")
		stillServes(t, srv.addr)
	})
	t.Run("RapidReset", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		// Build the frames first: the hpack encoder is not for two goroutines.
		var flood bytes.Buffer
		fw := http2.NewFramer(&flood, nil)
		for id := uint32(1); id < 2000; id += 2 {
			blk := r.block(":method", "POST", ":scheme", "http", ":path", "/raw")
			_ = fw.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndHeaders: true})
			_ = fw.WriteRSTStream(id, http2.ErrCodeCancel)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = r.nc.Write(flood.Bytes())
		}()
		expectGoAway(t, r, http2.ErrCodeEnhanceYourCalm, "too_many_resets")
		_ = r.nc.Close()
		<-done
		stillServes(t, srv.addr)
	})
	t.Run("WindowOverflow", func(t *testing.T) {
		r := rawDial(t, srv.addr)
		_ = r.fr.WriteWindowUpdate(0, 1<<31-1)
		expectGoAway(t, r, http2.ErrCodeFlowControl, "")
	})
	t.Run("NotSettingsFirst", func(t *testing.T) {
		nc, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		r := &rawConn{t: t, nc: nc, fr: http2.NewFramer(nc, nc)}
		_, _ = nc.Write([]byte(http2.ClientPreface))
		_ = r.fr.WritePing(false, [8]byte{})
		expectGoAway(t, r, http2.ErrCodeProtocol, "")
	})
	t.Run("BadPreface", func(t *testing.T) {
		nc, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_, _ = nc.Write([]byte("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"))
		_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Read(make([]byte, 1024)); err == nil {
			// SETTINGS may not be sent; the connection must end either way.
			_, err = nc.Read(make([]byte, 1024))
			for err == nil {
				_, err = nc.Read(make([]byte, 1024))
			}
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection with a bad preface still open")
		}
	})
}

// TestControlFloodBoundedMemory: a client that floods PINGs (allowed by a
// lax policy) and never reads the answers makes the server stop reading
// once a bounded amount of answers is queued; memory stays bounded and
// other clients are served.
func TestControlFloodBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a connection")
	}
	for _, eng := range []engine.Engine{engine.Std, engine.Default} {
		t.Run(eng.Name(), func(t *testing.T) { controlFlood(t, eng) })
	}
}

func controlFlood(t *testing.T, eng engine.Engine) {
	srv := startServer(t, echoHandler, serverConfig{eng: eng, opts: []h2transport.Option{
		h2transport.WithKeepaliveEnforcement(0, true)}})
	r := rawDial(t, srv.addr)
	var ping bytes.Buffer
	fw := http2.NewFramer(&ping, nil)
	for i := range 4096 {
		_ = fw.WritePing(false, [8]byte{byte(i), byte(i >> 8)})
	}
	// Live heap (after GC), sampled while the flood runs.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	done := make(chan int64, 1)
	go func() {
		var sent int64
		for sent < 64<<20 {
			_ = r.nc.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
			n, err := r.nc.Write(ping.Bytes())
			sent += int64(n)
			if err != nil {
				break // the server stopped reading: the socket is full
			}
		}
		done <- sent
	}()
	var peak uint64
	var sent int64
	for sampling := true; sampling; {
		select {
		case sent = <-done:
			sampling = false
		case <-time.After(20 * time.Millisecond):
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	grow := int64(peak) - int64(base)
	t.Logf("client wrote %d KiB of PINGs without reading; server heap grew %d KiB", sent>>10, grow>>10)
	if eng.Name() == "netpoll" {
		// Netpoll reads every readable byte into its buffer whether or not
		// the connection's reader keeps up, so the flood lands in memory
		// before the protocol sees it (an engine property; the std engine
		// stops reading and TCP pushes back). The protocol still ends the
		// connection and serves others.
		stillServes(t, srv.addr)
		return
	}
	if sent >= 64<<20 {
		t.Fatal("the server kept reading a flood it could not answer")
	}
	if grow > 16<<20 {
		t.Fatalf("heap grew by %d MiB", grow>>20)
	}
	stillServes(t, srv.addr)
	_ = r.nc.Close()
}
