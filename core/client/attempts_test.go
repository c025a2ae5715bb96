package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/internal/toystream"
	"github.com/skiffrpc/skiff/core/status"
)

// A client middleware that calls next once per attempt finds each
// attempt's record with LastAttempt once next returned: a new attempt,
// balanced anew, each time.
func TestMiddlewareAttemptsAndLastAttempt(t *testing.T) {
	a := start(t, func(_ context.Context, in []byte) ([]byte, error) { return []byte("a"), nil })
	b := start(t, func(_ context.Context, in []byte) ([]byte, error) { return []byte("b"), nil })
	type rec struct {
		n      int
		addr   string
		err    error
		before *callinfo.Attempt
	}
	var got []rec
	var overStreams bool
	twice := func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			ci := callinfo.From(ctx)
			overStreams = ci.OverStreams
			var err error
			for range 2 {
				before := ci.LastAttempt()
				err = next(ctx, req, resp)
				at := ci.LastAttempt()
				got = append(got, rec{n: at.N, addr: at.Address, err: at.Err, before: before})
			}
			return err
		}
	}
	cli, err := client.New(toycodec.Service(), client.WithHostPorts(a, b), client.WithMiddleware(twice))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := call(cli, "x"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].n != 1 || got[1].n != 2 {
		t.Fatalf("attempts %+v", got)
	}
	if got[0].before != nil || got[1].before == nil || got[1].before.N != 1 {
		t.Fatalf("LastAttempt before the attempts: %+v", got)
	}
	if got[0].addr == got[1].addr || got[0].err != nil || got[1].err != nil {
		t.Fatalf("the two attempts were not balanced anew: %+v", got)
	}
	if overStreams {
		t.Fatal("OverStreams set on a framed client")
	}
}

// OverStreams tells a middleware the call runs over a stream transport.
func TestOverStreams(t *testing.T) {
	var overStreams bool
	mw := func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			overStreams = callinfo.From(ctx).OverStreams
			return next(ctx, req, resp)
		}
	}
	cli, err := client.New(toycodec.Service(), client.WithHostPorts("127.0.0.1:1"), client.WithMiddleware(mw),
		client.WithStreamTransport(toystream.Protocol), client.WithStreamCodec(toystream.Codec))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := call(cli, "x"); !errors.Is(err, status.ErrUnsent) {
		t.Fatalf("want a connect error from port 1, got %v", err)
	}
	if !overStreams {
		t.Fatal("OverStreams not set on a stream client")
	}
}

// An attempt's request is released once written, while the attempt still
// waits for its reply, on pooled and multiplexed connections alike; and
// when the attempt ends.
func TestRequestReleasedOnceWritten(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	addr := start(t, func(_ context.Context, in []byte) ([]byte, error) {
		entered <- struct{}{}
		<-release
		return in, nil
	})
	defer close(release)
	for _, mode := range []struct {
		name string
		opt  client.Option
	}{{"pooled", client.WithLongConnection(client.PoolConfig{})}, {"multiplexed", client.WithMultiplex(1)}} {
		t.Run(mode.name, func(t *testing.T) {
			ats := make(chan *callinfo.Attempt, 1)
			grab := func(next endpoint.Endpoint) endpoint.Endpoint {
				return func(ctx context.Context, req, resp any) error {
					ats <- callinfo.AttemptFrom(ctx)
					return next(ctx, req, resp)
				}
			}
			cli, err := client.New(toycodec.Service(), client.WithHostPorts(addr), mode.opt, client.WithInstanceMiddleware(grab))
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			done := make(chan error, 1)
			go func() { _, err := call(cli, "x"); done <- err }()
			at := <-ats
			<-entered // the server has the request: it was written
			for deadline := time.Now().Add(2 * time.Second); !at.RequestReleased(); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("request not released while the attempt waits for its reply")
				}
			}
			release <- struct{}{}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
