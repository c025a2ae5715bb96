package server_test

import (
	"context"
	"errors"
	"log/slog"
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
