package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
)

func TestMultiplexConcurrent(t *testing.T) {
	var p peers
	addr := start(t, p.handler(nil))
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts(addr), client.WithMultiplex(2))
	defer cli.Close()
	var wg sync.WaitGroup
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				want := fmt.Sprintf("%d-%d", g, i)
				if got, err := call(cli, want); err != nil || got != want {
					t.Errorf("got %q %v, want %q", got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := p.conns(); n > 2 {
		t.Fatalf("5000 calls from 50 goroutines used %d connections, want at most 2", n)
	}
}

func TestMultiplexTimeoutKeepsConnection(t *testing.T) {
	var p peers
	addr := start(t, p.handler(func(in []byte) time.Duration {
		if string(in) == "slow" {
			return 300 * time.Millisecond
		}
		return 0
	}))
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts(addr), client.WithMultiplex(1),
		client.WithRPCTimeout(100*time.Millisecond))
	defer cli.Close()
	t0 := time.Now()
	if _, err := call(cli, "slow"); !errors.Is(err, status.ErrTimeout) || time.Since(t0) > 250*time.Millisecond {
		t.Fatalf("slow call: %v after %v", err, time.Since(t0))
	}
	// The late reply is dropped; the connection keeps serving.
	time.Sleep(300 * time.Millisecond)
	if got, err := call(cli, "fast"); err != nil || got != "fast" {
		t.Fatalf("after timeout: %q %v", got, err)
	}
	if n := p.conns(); n != 1 {
		t.Fatalf("used %d connections, want 1", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	err := cli.Call(ctx, "Echo", &toycodec.Bytes{B: []byte("slow")}, &toycodec.Bytes{})
	if !errors.Is(err, status.ErrCanceled) {
		t.Fatalf("canceled call: %v", err)
	}
}

func TestMultiplexServerGoneThenBack(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithExitWaitTime(100*time.Millisecond))
	if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(func(_ context.Context, in []byte) ([]byte, error) { return in, nil })); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	addr := svr.Addr().String()
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts(addr), client.WithMultiplex(1), client.WithRPCTimeout(time.Second))
	defer cli.Close()
	if _, err := call(cli, "a"); err != nil {
		t.Fatal(err)
	}
	_ = svr.Stop()
	if _, err := call(cli, "b"); err == nil {
		t.Fatal("call to a stopped server succeeded")
	}
	// A new server on the same address: the client redials.
	svr2 := server.New(server.WithAddress(addr), server.WithLogger(quiet))
	if err := svr2.RegisterService(toycodec.Service(), toycodec.Handler(func(_ context.Context, in []byte) ([]byte, error) { return in, nil })); err != nil {
		t.Fatal(err)
	}
	if err := svr2.Start(); err != nil {
		t.Skipf("address not reusable at once: %v", err)
	}
	defer svr2.Stop()
	var err error
	for i := 0; i < 3; i++ { // the first call may find the dead connection
		if _, err = call(cli, "c"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no recovery after the server came back: %v", err)
	}
}
