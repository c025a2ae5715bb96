package ttheader_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// countingProxy forwards TCP connections to backend and counts them.
//
// It counts the connections that carried client bytes (used) apart from
// all it accepted. In -race builds Netpoll finds a descriptor's operator
// by its number (poll_default_linux_race.go), so a stale event of a closed
// connection can reach a dial that reused the number and fail it after
// the kernel completed the handshake; the engine then dials once more.
// That first connection closes before it carries anything: it is not one
// the client chose to open. (CI once saw 2 connections here.)
type countingProxy struct {
	ln    net.Listener
	conns atomic.Int32 // accepted
	used  atomic.Int32 // sent at least one byte
	wg    sync.WaitGroup
	mu    sync.Mutex
	open  []net.Conn
}

func newCountingProxy(t *testing.T, backend string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.conns.Add(1)
			p.mu.Lock()
			p.open = append(p.open, c, b)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); copyClose(b, c, &p.used) }()
			go func() { defer p.wg.Done(); copyClose(c, b, nil) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		for _, c := range p.open {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// copyClose copies src to dst until either fails, then closes both. It
// adds one to used (when not nil) at the first byte.
func copyClose(dst, src net.Conn, used *atomic.Int32) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if used != nil {
				used.Add(1)
				used = nil
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
}

// slowFirst answers "slow" after 300 ms and anything else at once.
func slowFirst(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	if req.Message == "slow" {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return &echo.EchoResponse{Message: req.Message}, nil
}

// TestHeadOfLine: on one multiplexed TTHeader connection, a 300 ms call
// holds up none of the 1,000 fast calls sent after it: the server runs a
// connection's out-of-order calls at once and answers each when done.
func TestHeadOfLine(t *testing.T) {
	addr := start(t, hopHandler{slowFirst})
	p := newCountingProxy(t, addr)
	stub := dial(t, p.ln.Addr().String(), client.WithTransport(ttheader.TTHeader), client.WithMultiplex(1))
	ctx := context.Background()
	if _, err := stub.Echo(ctx, &echo.EchoRequest{Message: "warm"}); err != nil {
		t.Fatal(err)
	}
	slowDone := make(chan time.Duration, 1)
	var fastDone, beforeSlow atomic.Int32 // fast calls done, and done while the slow one ran
	go func() {
		t0 := time.Now()
		_, err := stub.Echo(ctx, &echo.EchoRequest{Message: "slow"})
		if err != nil {
			t.Error(err)
		}
		beforeSlow.Store(fastDone.Load())
		slowDone <- time.Since(t0)
	}()
	time.Sleep(20 * time.Millisecond) // the slow call is in
	// 50 callers send the 1,000 calls: served in order, the first 50
	// (5 %) would wait for the slow call, and the p99 with them.
	const n, par = 1000, 50
	lat := make([]time.Duration, n)
	var next atomic.Int32
	var wg sync.WaitGroup
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				t0 := time.Now()
				if _, err := stub.Echo(ctx, &echo.EchoRequest{Message: "fast"}); err != nil {
					t.Error(err)
					return
				}
				lat[i] = time.Since(t0)
				fastDone.Add(1)
			}
		}()
	}
	wg.Wait()
	slow := <-slowDone
	slices.Sort(lat)
	p99 := lat[n*99/100]
	t.Logf("fast calls: p50 %v p99 %v max %v, %d of %d done while the slow call ran (%v); %d connection(s) used, %d accepted",
		lat[n/2], p99, lat[n-1], beforeSlow.Load(), n, slow, p.used.Load(), p.conns.Load())
	// Served in order, no fast call could finish while the slow one ran
	// (its 50 callers would all wait behind it). The latency target
	// (p99 < 50 ms) is measured without -race on a quiet machine; here,
	// under -race on a shared one, the test asserts the behaviour.
	if got := beforeSlow.Load(); got < n/2 {
		t.Errorf("only %d of %d fast calls finished while a 300 ms call ran on the same connection", got, n)
	}
	if slow < 300*time.Millisecond {
		t.Errorf("the slow call took %v", slow)
	}
	if c := p.used.Load(); c != 1 {
		t.Errorf("%d connections used, want the one multiplexed", c)
	}
}

// TestDefaultModeUpgrades: a TTHeader client in the default mode offers
// out-of-order replies, a Skiff server says it takes them, and the client
// multiplexes from then on: many concurrent calls over two connections,
// with no head-of-line blocking. With WithLongConnection it never does.
func TestDefaultModeUpgrades(t *testing.T) {
	addr := start(t, hopHandler{slowFirst})
	run := func(t *testing.T, opts ...client.Option) int32 {
		p := newCountingProxy(t, addr)
		stub := dial(t, p.ln.Addr().String(), append([]client.Option{client.WithTransport(ttheader.TTHeader)}, opts...)...)
		ctx := context.Background()
		if _, err := stub.Echo(ctx, &echo.EchoRequest{Message: "first"}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					if _, err := stub.Echo(ctx, &echo.EchoRequest{Message: "x"}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return p.used.Load()
	}
	if n := run(t); n > 3 {
		t.Errorf("default mode: %d connections for 32 concurrent callers, want the first pooled one and two multiplexed", n)
	}
	if n := run(t, client.WithLongConnection(client.PoolConfig{})); n < 4 {
		t.Errorf("WithLongConnection: %d connections for 32 concurrent callers: it multiplexed", n)
	}
}

// TestConnectionModesExclusive: the connection modes are one choice.
func TestConnectionModesExclusive(t *testing.T) {
	_, err := client.New(echo.ServiceInfo(), client.WithHostPorts("127.0.0.1:1"),
		client.WithMultiplex(2), client.WithShortConnection())
	if err == nil {
		t.Fatal("WithMultiplex and WithShortConnection together were accepted")
	}
}
