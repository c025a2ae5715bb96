package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

func start(t *testing.T, h toycodec.Handler, opts ...server.Option) *server.Server {
	t.Helper()
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, opts...)...)
	if err := svr.RegisterService(toycodec.Service(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr
}

func newClient(t *testing.T, addr string, opts ...client.Option) *client.Client {
	t.Helper()
	cli, err := client.New(toycodec.Service(), append([]client.Option{client.WithHostPorts(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

var quiet = slog.New(slog.DiscardHandler)

func echo(_ context.Context, in []byte) ([]byte, error) { return in, nil }

func TestEchoConcurrent(t *testing.T) {
	svr := start(t, echo)
	cli := newClient(t, svr.Addr().String())
	var wg sync.WaitGroup
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				want := []byte{byte(g), byte(i), 1, 2, 3}
				var got toycodec.Bytes
				if err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: want}, &got); err != nil {
					t.Error(err)
					return
				}
				if string(got.B) != string(want) {
					t.Errorf("got %x want %x", got.B, want)
				}
			}
		}()
	}
	wg.Wait()
}

func TestUnknownMethodAndPanic(t *testing.T) {
	svr := start(t, func(_ context.Context, in []byte) ([]byte, error) {
		if string(in) == "panic" {
			panic("boom")
		}
		return nil, errors.New("plain failure")
	})
	cli := newClient(t, svr.Addr().String())
	err := cli.Call(context.Background(), "Nope", &toycodec.Bytes{}, &toycodec.Bytes{})
	if !errors.Is(err, status.ErrRemote) || status.CodeOf(err) != status.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
	err = cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("panic")}, &toycodec.Bytes{})
	if status.CodeOf(err) != status.Internal {
		t.Fatalf("panic: %v", err)
	}
	if strings.Contains(err.Error(), "boom") {
		t.Errorf("the panic's value reached the client: %v", err)
	}
	err = cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("x")}, &toycodec.Bytes{})
	if status.CodeOf(err) != status.Internal || status.Convert(err).Message() != "plain failure" {
		t.Fatalf("plain error: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	svr := start(t, func(ctx context.Context, in []byte) ([]byte, error) {
		time.Sleep(300 * time.Millisecond)
		return in, nil
	})
	cli := newClient(t, svr.Addr().String(), client.WithRPCTimeout(100*time.Millisecond))
	t0 := time.Now()
	err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("x")}, &toycodec.Bytes{})
	el := time.Since(t0)
	if !errors.Is(err, status.ErrTimeout) {
		t.Fatalf("want timeout, got %v", err)
	}
	if el < 100*time.Millisecond || el > 250*time.Millisecond {
		t.Fatalf("timeout after %v", el)
	}
}

func TestGracefulStop(t *testing.T) {
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(100)
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithExitWaitTime(5*time.Second))
	if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(func(_ context.Context, in []byte) ([]byte, error) {
		entered.Done()
		<-release
		return in, nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	addr := svr.Addr().String()
	cli := newClient(t, addr, client.WithLongConnection(client.PoolConfig{MaxIdlePerAddress: 100, MaxIdleGlobal: 100}))
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		go func() {
			var got toycodec.Bytes
			err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte{byte(i)}}, &got)
			if err == nil && (len(got.B) != 1 || got.B[0] != byte(i)) {
				err = errors.New("wrong reply")
			}
			errs <- err
		}()
	}
	entered.Wait()
	stopped := make(chan error)
	go func() { stopped <- svr.Stop() }()
	time.Sleep(100 * time.Millisecond) // Stop is now waiting on the in-flight calls
	// New connections are refused while draining.
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c.Close()
		t.Error("a new connection was accepted during shutdown")
	}
	close(release)
	for i := 0; i < 100; i++ {
		if err := <-errs; err != nil {
			t.Errorf("in-flight call: %v", err)
		}
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestInvoker(t *testing.T) {
	inv := server.NewInvoker(server.WithLogger(quiet))
	if err := inv.RegisterService(toycodec.Service(), toycodec.Handler(echo)); err != nil {
		t.Fatal(err)
	}
	// A Framed toy call "Echo", seq 7, payload "hi".
	req := []byte{0, 0, 0, 14, 0xAB, 1, 0, 4, 'E', 'c', 'h', 'o', 0, 0, 0, 7, 'h', 'i'}
	resp, err := inv.Call(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 14, 0xAB, 2, 0, 4, 'E', 'c', 'h', 'o', 0, 0, 0, 7, 'h', 'i'}
	if string(resp) != string(want) {
		t.Fatalf("got %x\nwant %x", resp, want)
	}
}
