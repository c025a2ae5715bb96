package limiter_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/limiter"
)

// serialEcho serves one call at a time, each taking 2 ms: a service
// behind a single downstream connection.
type serialEcho struct{ mu sync.Mutex }

func (s *serialEcho) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	s.mu.Lock()
	time.Sleep(2 * time.Millisecond)
	s.mu.Unlock()
	return &echo.EchoResponse{Message: req.Message}, nil
}
func (*serialEcho) Fail(context.Context, int32) (*echo.EchoResponse, error) { return nil, nil }
func (*serialEcho) Notify(context.Context, string) error                    { return nil }

// TestAdaptiveOverTheWire runs 32 TTHeader callers against a server that
// does one call at a time, with the adaptive limiter and no number: the
// excess is rejected as ErrOverload on kept connections, and the admitted
// calls wait much less than the 32 service times an unlimited queue
// would make them wait.
func TestAdaptiveOverTheWire(t *testing.T) {
	lim := limiter.New(limiter.WithAdaptive(), limiter.WithLogger(quiet))
	conns := &connCounter{}
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithSuite(lim), server.WithConnHook(conns))
	if err := svr.RegisterService(echo.ServiceInfo(), &serialEcho{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	call := dialEcho(t, svr.Addr().String(), client.WithRPCTimeout(10*time.Second),
		client.WithLongConnection(client.PoolConfig{MaxIdlePerAddress: 64, MaxIdleGlobal: 64, MaxIdleTimeout: time.Minute}))
	// Unloaded first: the limiter learns the no-load latency.
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		if err := call(context.Background(), "x"); err != nil {
			t.Fatalf("unloaded call: %v", err)
		}
	}
	var measuring atomic.Bool
	var ok, rejected, latency atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				err := call(context.Background(), "x")
				switch {
				case err == nil:
					if measuring.Load() {
						ok.Add(1)
						latency.Add(int64(time.Since(start)))
					}
				case remoteOverload(err):
					if measuring.Load() {
						rejected.Add(1)
					}
					time.Sleep(2 * time.Millisecond) // back off a little
				default:
					t.Errorf("call: %v, want success or an overload rejection", err)
					return
				}
			}
		})
	}
	time.Sleep(time.Second)
	accepted := conns.accepted.Load()
	measuring.Store(true)
	time.Sleep(2 * time.Second)
	measuring.Store(false)
	close(stop)
	wg.Wait()
	n := ok.Load()
	if n == 0 || rejected.Load() == 0 {
		t.Fatalf("%d admitted, %d rejected: want both under 32x the capacity", n, rejected.Load())
	}
	mean := time.Duration(latency.Load() / n)
	t.Logf("admitted %d/s, mean latency %v (unlimited: about 64 ms), rejected %d/s, limit %d",
		n/2, mean, rejected.Load()/2, lim.Stats().AdaptiveLimit)
	if mean > 40*time.Millisecond { // generous: the race detector and a loaded machine slow every call
		t.Errorf("mean latency of admitted calls %v: the queue was not shed", mean)
	}
	if conns.accepted.Load() != accepted || conns.closed.Load() != 0 {
		t.Errorf("connections accepted %d -> %d, closed %d: rejections must keep connections", accepted, conns.accepted.Load(), conns.closed.Load())
	}
}
