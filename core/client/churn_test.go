package client_test

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
)

// churn runs 32 callers on a multiplexed client while the resolver drops
// and re-adds instance b every 100 µs for 300 ms, then closes the client.
// It fails if Close hangs.
func churn(t *testing.T, a, b string, id *atomic.Int64) {
	t.Helper()
	r := &pushResolver{}
	r.set(a, b)
	cli, err := client.New(toycodec.Service(), client.WithResolver(r), client.WithMultiplex(4), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call(cli, "warm"); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				_, _ = call(cli, strconv.FormatInt(id.Add(1), 10))
			}
		}()
	}
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		r.push(a)
		time.Sleep(50 * time.Microsecond)
		r.push(a, b)
		time.Sleep(50 * time.Microsecond)
	}
	stop.Store(true)
	wg.Wait()
	done := make(chan struct{})
	go func() { _ = cli.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("Client.Close hung\n%s", buf[:n])
	}
}

// TestMuxChurn: with instances leaving and coming back under load, a
// multiplexed client never resends a request a server already ran (a
// request is reported unsent, and retried, only when it was not queued)
// and its Close does not hang on connections dialled in the churn.
func TestMuxChurn(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	h := func(_ context.Context, in []byte) ([]byte, error) {
		mu.Lock()
		seen[string(in)]++
		mu.Unlock()
		return in, nil
	}
	a, b := start(t, h), start(t, h)
	var id atomic.Int64
	for range 6 {
		churn(t, a, b, &id)
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range seen {
		if n > 1 && k != "warm" {
			t.Errorf("request %s ran %d times", k, n)
		}
	}
	if len(seen) < 100 {
		t.Errorf("only %d requests ran", len(seen))
	}
}

// flakyWatcher's first Watch fails, as when the registry is unreachable.
type flakyWatcher struct {
	addr    string
	watches atomic.Int32
}

func (r *flakyWatcher) Name() string { return "flaky" }

func (r *flakyWatcher) Resolve(context.Context, string) (discovery.Result, error) {
	return discovery.Result{Instances: []discovery.Instance{discovery.NewInstance("tcp", r.addr, 0, nil)}}, nil
}

func (r *flakyWatcher) Watch(s string, update func(discovery.Result)) (func(), error) {
	if r.watches.Add(1) == 1 {
		return nil, errors.New("registry unreachable")
	}
	res, _ := r.Resolve(context.Background(), s)
	update(res)
	return func() {}, nil
}

// TestWatchFailureFallsBack: a watcher whose Watch fails is resolved by
// Resolve meanwhile (calls succeed) and watched again in the background.
func TestWatchFailureFallsBack(t *testing.T) {
	addr := start(t, func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	r := &flakyWatcher{addr: addr}
	cli, err := client.New(toycodec.Service(), client.WithResolver(r), client.WithDiscoveryRefresh(20*time.Millisecond), client.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := cli.Call(ctx, "Echo", &toycodec.Bytes{B: []byte("x")}, &toycodec.Bytes{})
		cancel()
		if err != nil {
			t.Fatalf("call %d after a failed Watch: %v", i, err)
		}
	}
	waitUntil(t, "the watch is retried", func() bool { return r.watches.Load() >= 2 })
}
