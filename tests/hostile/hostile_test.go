//go:build linux

package hostile_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// The attack sizes of issue 20's Show 1.
const (
	idleConns      = 2000
	slowlorisConns = 200
	bigHeaderConns = 600
	garbageConns   = 100
	stalledStreams = 1000
	stalledConns   = 4 // the stalled streams are spread over these
)

// Memory bounds: how much the server's RSS may grow at the peak of each
// phase over its RSS when the phase began (each phase begins with
// debug.FreeOSMemory in the server, so that its growth is its own). The
// bounds are about twice the growth measured on a 2-core x86-64 Linux
// machine (README.md has the numbers), separately without and with the
// race detector, whose shadow memory multiplies what every byte costs.
// Without the bounds the issue is about (std's allocation of announced
// frame sizes, the stream memory budget), bigheader grew by gigabytes and
// h2stalled by 95-122 MiB.
var rssBound = map[string][2]int64{ // phase -> {without -race, with -race}
	"idle":      {32 << 20, 200 << 20},
	"slowloris": {16 << 20, 80 << 20},
	"bigheader": {32 << 20, 96 << 20},
	"garbage":   {16 << 20, 48 << 20},
	"h2stalled": {80 << 20, 200 << 20},
}

// p99Bound is how far the healthy client's p99 may rise over its baseline
// during an attack: 3x, as the issue asks, with a floor of 20 ms. On a
// 2-core machine shared with other work, the p99 of a 1.5 s window (its
// 15th-worst call) is a handful of deschedulings: the baseline p99 itself
// ranged from 0.75 to 8.6 ms across runs, with p50 at 0.2 ms throughout,
// and one run saw 11.6 ms against a 3.6 ms baseline in a window where the
// machine was busy (half the usual number of calls, p50 unchanged). The
// floor absorbs that noise, and still catches what the attacks did before
// the bounds (errors, and latencies of hundreds of ms). Under -race
// everything runs 5-10x slower, in the server and in this process alike,
// and pauses dominate: in the h2stalled phase on Netpoll, p99s of 34, 48
// and 161 ms were seen against 3-9 ms baselines, with p50 unchanged at
// about 1 ms. There the bound is only a sanity check, 5x with a floor of
// 500 ms (an attack that blocked the server would still fail it); the
// p99s that count are the ones measured without -race (logged, and
// recorded in README.md).
func p99Bound(base time.Duration) time.Duration {
	mult, floor := time.Duration(3), 20*time.Millisecond
	if raceEnabled {
		mult, floor = 5, 500*time.Millisecond
	}
	return max(mult*base, floor)
}

// TestHostileClients is Show 1: against one server on each engine, with a
// healthy client calling it all along (TTHeader Thrift and gRPC), five
// attacks in turn. For each: the server's RSS stays within its bound, the
// healthy client gets no error and its p99 stays within p99Bound of its
// baseline, and the attack is dealt with as the server's bounds say.
func TestHostileClients(t *testing.T) {
	if testing.Short() {
		t.Skip("Show 1 hostile-client suite: about 25 s")
	}
	raiseFDLimit(t, 3*idleConns+512)
	for _, eng := range []engine.Engine{engine.Std, engine.Netpoll} {
		t.Run(eng.Name(), func(t *testing.T) { hostileSuite(t, eng.Name()) })
	}
}

func hostileSuite(t *testing.T, eng string) {
	ch := startChild(t, eng)
	addr := ch.addr

	ttc, err := client.New(echo.ServiceInfo(), client.WithHostPorts(addr), client.WithTransport(ttheader.TTHeader),
		client.WithLongConnection(client.PoolConfig{}), client.WithRPCTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer ttc.Close()
	gcli, err := client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts(addr),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default))
	if err != nil {
		t.Fatal(err)
	}
	defer gcli.Close()
	stub, gc := echo.NewClient(ttc), greeterpb.NewGreeterSkiffClient(gcli)
	h := &healthy{calls: []func(context.Context) error{
		func(ctx context.Context) error {
			_, err := stub.Echo(ctx, &echo.EchoRequest{Message: "healthy"})
			return err
		},
		func(ctx context.Context) error {
			_, err := gc.SayHello(ctx, &greeterpb.HelloRequest{Name: "healthy"})
			return err
		},
	}}
	h.run()
	defer h.close()

	time.Sleep(500 * time.Millisecond) // warm-up: connections, pools, goroutines
	h.reset()
	rss0 := ch.free(t)
	time.Sleep(1500 * time.Millisecond)
	base := h.take()
	st0 := ch.stats(t)
	t.Logf("baseline: RSS %.1f MiB, heap %.1f MiB, %d goroutines; healthy %d calls, p50 %v, p99 %v, %d errors",
		mib(rss0), mib(int64(st0.HeapInuse)), st0.Goroutines, base.calls, base.p50, base.p99, base.errs)
	if base.errs != 0 || base.calls == 0 {
		t.Fatalf("baseline: %d calls, %d errors %q", base.calls, base.errs, base.sample)
	}

	// check asserts a phase's memory and the healthy client's window.
	var phase0 int64 // the RSS a phase starts from
	begin := func() (stop func() int64) {
		phase0 = ch.free(t)
		return ch.peakRSS()
	}
	check := func(phase string, peak int64, w window) {
		t.Helper()
		grow := peak - phase0
		bound := rssBound[phase][0]
		if raceEnabled {
			bound = rssBound[phase][1]
		}
		t.Logf("%s: peak RSS %.1f MiB (+%.1f MiB over the phase's start, bound +%.0f MiB); healthy %d calls, %d errors, p50 %v, p99 %v (baseline %v, bound %v)",
			phase, mib(peak), mib(grow), mib(bound), w.calls, w.errs, w.p50, w.p99, base.p99, p99Bound(base.p99))
		if grow > bound {
			t.Errorf("%s: the server's RSS grew by %.1f MiB, bound %.0f MiB", phase, mib(grow), mib(bound))
		}
		if w.errs != 0 || w.calls == 0 {
			t.Errorf("%s: healthy client: %d calls, %d errors %q", phase, w.calls, w.errs, w.sample)
		}
		if w.p99 > p99Bound(base.p99) {
			t.Errorf("%s: healthy p99 %v, over %v (baseline %v)", phase, w.p99, p99Bound(base.p99), base.p99)
		}
	}
	// settle waits for the server to be back to the healthy client's
	// connections.
	settle := func(phase string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			st := ch.stats(t)
			if st.Conns <= st0.Conns {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s: the server still has %d connections (baseline %d)", phase, st.Conns, st0.Conns)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// 1. Idle connections, past WithMaxConns: the server keeps up to its
	// bound and closes the others at once; the healthy client's
	// connections are untouched; the idle timeout then closes the ones it
	// kept.
	{
		stop := begin()
		t0 := time.Now()
		cr := dialCrowd(t, addr, idleConns)
		cr.watch()
		h.reset()
		time.Sleep(1500 * time.Millisecond)
		w := h.take()
		st := ch.stats(t)
		peak := stop()
		closed := int(cr.closed.Load())
		t.Logf("idle: server holds %d connections (bound %d), closed %d of %d at once, %d refused in all",
			st.Conns, childMaxConns, closed, idleConns, st.RefusedConns)
		if st.Conns > childMaxConns || closed < idleConns-childMaxConns || st.RefusedConns < int64(idleConns-childMaxConns) {
			t.Errorf("idle: %d connections held, %d closed, %d refused; want at most %d held and the rest closed", st.Conns, closed, st.RefusedConns, childMaxConns)
		}
		check("idle", peak, w)
		n, last := cr.waitClosed(childIdleTimeout + 4*time.Second)
		t.Logf("idle: all %d closed by the server %v after the first dial (idle timeout %v)", n, last.Sub(t0).Round(time.Millisecond), childIdleTimeout)
		if n != idleConns || last.Sub(t0) > childIdleTimeout+3*time.Second {
			t.Errorf("idle: %d of %d closed, the last %v after the first dial; want all within the idle timeout %v + 3 s", n, idleConns, last.Sub(t0), childIdleTimeout)
		}
		cr.close()
		settle("idle")
	}

	// 2. Slowloris: a Framed request one byte every 500 ms. The read
	// timeout runs from the request's first byte: every connection is
	// closed within it (plus slack).
	{
		stop := begin()
		cr := dialCrowd(t, addr, slowlorisConns)
		cr.watch()
		t0 := time.Now()
		var wg sync.WaitGroup
		quit := make(chan struct{})
		req := framedHeader(200)
		req = append(req, bytes.Repeat([]byte{0}, 200-len(req)+4)...)
		for _, c := range cr.conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < len(req); i++ {
					if _, err := c.Write(req[i : i+1]); err != nil {
						return
					}
					select {
					case <-quit:
						return
					case <-time.After(500 * time.Millisecond):
					}
				}
			}()
		}
		h.reset()
		n, last := cr.waitClosed(childReadTimeout + 4*time.Second)
		w := h.take()
		peak := stop()
		close(quit)
		wg.Wait()
		t.Logf("slowloris: %d of %d closed by the server, the last %v after the first byte (read timeout %v)",
			n, slowlorisConns, last.Sub(t0).Round(time.Millisecond), childReadTimeout)
		if n != slowlorisConns || last.Sub(t0) > childReadTimeout+3*time.Second {
			t.Errorf("slowloris: %d of %d closed, the last after %v; want all within %v", n, slowlorisConns, last.Sub(t0), childReadTimeout+3*time.Second)
		}
		cr.close()
		check("slowloris", peak, w)
		settle("slowloris")
	}

	// 3. Framed headers announcing 16 MB, then nothing: nothing is
	// allocated for the announced size, and the read timeout closes them.
	{
		stop := begin()
		cr := dialCrowd(t, addr, bigHeaderConns)
		cr.watch()
		t0 := time.Now()
		hdr := framedHeader(16<<20 - 1)
		for _, c := range cr.conns {
			_, _ = c.Write(hdr)
		}
		h.reset()
		n, last := cr.waitClosed(childReadTimeout + 4*time.Second)
		w := h.take()
		peak := stop()
		t.Logf("bigheader: %d of %d closed by the server, the last %v after the header", n, bigHeaderConns, last.Sub(t0).Round(time.Millisecond))
		if n != bigHeaderConns || last.Sub(t0) > childReadTimeout+3*time.Second {
			t.Errorf("bigheader: %d of %d closed, the last after %v; want all within %v", n, bigHeaderConns, last.Sub(t0), childReadTimeout+3*time.Second)
		}
		cr.close()
		check("bigheader", peak, w)
		settle("bigheader")
	}

	// 4. Garbage: 4 KiB of random bytes on each connection. No protocol
	// matches: the server closes them.
	{
		stop := begin()
		cr := dialCrowd(t, addr, garbageConns)
		cr.watch()
		t0 := time.Now()
		rng := rand.New(rand.NewPCG(20, 1))
		for _, c := range cr.conns {
			junk := make([]byte, 4<<10)
			for i := range junk {
				junk[i] = byte(rng.UintN(256))
			}
			junk[0] = 'G' // not a length prefix, TTHeader or HTTP/2 preface
			_, _ = c.Write(junk)
		}
		h.reset()
		n, last := cr.waitClosed(childReadTimeout + 4*time.Second)
		time.Sleep(max(0, 500*time.Millisecond-time.Since(t0))) // a window of some length
		w := h.take()
		peak := stop()
		t.Logf("garbage: %d of %d closed by the server, the last %v after the bytes", n, garbageConns, last.Sub(t0).Round(time.Millisecond))
		if n != garbageConns || last.Sub(t0) > childReadTimeout+3*time.Second {
			t.Errorf("garbage: %d of %d closed, the last after %v", n, garbageConns, last.Sub(t0))
		}
		cr.close()
		check("garbage", peak, w)
		settle("garbage")
	}

	// 5. Stalled HTTP/2 streams: half send a gRPC request that never
	// ends, half never give back the window for their answers. The
	// stream memory budget refuses new streams of the stalling
	// connections once it is spent; the healthy client's streams go on.
	{
		stop := begin()
		var atk []*h2Attacker
		for i := 0; i < stalledConns; i++ {
			a, err := dialH2Attacker(addr)
			if err != nil {
				t.Fatal(err)
			}
			atk = append(atk, a)
		}
		for _, a := range atk {
			if err := a.stall(stalledStreams / stalledConns); err != nil {
				t.Fatal(err)
			}
		}
		h.reset()
		time.Sleep(1500 * time.Millisecond)
		w := h.take()
		st := ch.stats(t)
		peak := stop()
		var refused int64
		for _, a := range atk {
			refused += a.refused.Load()
		}
		t.Logf("h2stalled: %d streams on %d connections, %d refused (REFUSED_STREAM); budget %d MiB, charged %.1f MiB; heap %.1f MiB, %d goroutines",
			stalledStreams, stalledConns, refused, st.H2.Budget>>20, mib(st.H2.InUse), mib(int64(st.HeapInuse)), st.Goroutines)
		if st.H2.InUse > 2*childStreamMemory || st.H2.Refused == 0 || refused == 0 {
			t.Errorf("h2stalled: %.1f MiB charged (hard bound %d MiB), %d streams refused (the attackers saw %d); want the budget to bite",
				mib(st.H2.InUse), 2*childStreamMemory>>20, st.H2.Refused, refused)
		}
		for _, a := range atk {
			a.close()
		}
		check("h2stalled", peak, w)
		settle("h2stalled")
		deadline := time.Now().Add(5 * time.Second)
		for ch.stats(t).H2.InUse > 1<<20 { // the healthy client's stream, if any
			if time.Now().After(deadline) {
				t.Fatalf("h2stalled: %.1f MiB still charged after the attackers left", mib(ch.stats(t).H2.InUse))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// framedHeader is the start of a Thrift Framed request of size bytes: the
// length, then a strict binary call header for "Echo".
func framedHeader(size uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, size)
	b = append(b, 0x80, 0x01, 0x00, 0x01, 0, 0, 0, 4, 'E', 'c', 'h', 'o', 0, 0, 0, 1)
	return b
}

// h2Attacker is a hand-driven HTTP/2 client that opens streams and leaves
// them stalled.
type h2Attacker struct {
	nc      net.Conn
	fr      *http2.Framer
	enc     *hpack.Encoder
	hbuf    bytes.Buffer
	nextID  uint32
	refused atomic.Int64
	connWin atomic.Int64 // the connection window the server granted, less what was sent
	done    chan struct{}
}

func dialH2Attacker(addr string) (*h2Attacker, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	a := &h2Attacker{nc: nc, fr: http2.NewFramer(nc, nc), nextID: 1, done: make(chan struct{})}
	a.connWin.Store(65535)
	a.enc = hpack.NewEncoder(&a.hbuf)
	if _, err := nc.Write([]byte(http2.ClientPreface)); err == nil {
		err = a.fr.WriteSettings()
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	// Read the server's frames (never giving window back) and count the
	// streams it refuses.
	go func() {
		defer close(a.done)
		for {
			f, err := a.fr.ReadFrame()
			if err != nil {
				return
			}
			if rst, ok := f.(*http2.RSTStreamFrame); ok && rst.ErrCode == http2.ErrCodeRefusedStream {
				a.refused.Add(1)
			}
			if wu, ok := f.(*http2.WindowUpdateFrame); ok && wu.StreamID == 0 {
				a.connWin.Add(int64(wu.Increment))
			}
		}
	}()
	// The server's SETTINGS come with a connection WINDOW_UPDATE.
	for deadline := time.Now().Add(2 * time.Second); a.connWin.Load() <= 65535 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return a, nil
}

// h2Reserve is the connection window the attacker's partial requests
// leave for its complete ones: the server gives the window back for data
// its handlers read, never for data waiting unread (h2transport), so the
// partial requests would otherwise take all of it for good.
const h2Reserve = 256 << 10

// takeWindow takes n bytes of connection window: at once if keep bytes
// are left after it, else waiting up to wait for the server to give
// window back. It reports whether it took them.
func (a *h2Attacker) takeWindow(n, keep int64, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for {
		if w := a.connWin.Load(); w >= n+keep && a.connWin.CompareAndSwap(w, w-n) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// stall opens n streams: even ones send a gRPC request announcing 60,000
// bytes and send up to 48 KiB of it (within the stream's window, and as
// long as the connection window allows); odd ones ask LotsOfHellos for
// 1,000 greetings of 8 KiB, more than the window the attacker never gives
// back.
func (a *h2Attacker) stall(n int) error {
	partial := []byte{0, 0, 0, 0xEA, 0x60} // 60,000 bytes announced
	partial = append(partial, bytes.Repeat([]byte{'x'}, 48<<10)...)
	// HelloRequest{name: 8 KiB, times: 1000}, hand-encoded.
	msg := []byte{0x0A, 0x80, 0x40}
	msg = append(msg, bytes.Repeat([]byte{'y'}, 8<<10)...)
	msg = append(msg, 0x10, 0xE8, 0x07)
	full := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	full = append(full, msg...)
	for i := 0; i < n; i++ {
		id := a.nextID
		a.nextID += 2
		path, body, end := "/greeter.v1.Greeter/SayHello", partial, false
		if i%2 == 1 {
			path, body, end = "/greeter.v1.Greeter/LotsOfHellos", full, true
		}
		a.hbuf.Reset()
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", path}, {":authority", "hostile"},
			{"content-type", "application/grpc"}, {"te", "trailers"}} {
			_ = a.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := a.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: a.hbuf.Bytes(), EndHeaders: true}); err != nil {
			return err
		}
		// Within the connection window (a server ends a connection that
		// goes beyond it): partial requests only while the reserve is
		// left, complete ones waiting a little for window to come back.
		keep, wait := int64(h2Reserve), time.Duration(0)
		if end {
			keep, wait = 0, 200*time.Millisecond
		}
		for len(body) > 0 {
			k := min(len(body), 16<<10)
			if !a.takeWindow(int64(k), keep, wait) {
				break // the stream stays stalled where it is
			}
			if err := a.fr.WriteData(id, end && k == len(body), body[:k]); err != nil {
				return err
			}
			body = body[k:]
		}
	}
	return nil
}

func (a *h2Attacker) close() {
	_ = a.nc.Close()
	<-a.done
}
