package server_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/status"
)

// seenCalls records what middleware and tracers saw.
type seenCalls struct {
	mu    sync.Mutex
	calls []string
}

func (s *seenCalls) add(format string, args ...any) {
	s.mu.Lock()
	s.calls = append(s.calls, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *seenCalls) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

func (s *seenCalls) middleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		ci := callinfo.From(ctx)
		err := next(ctx, req, resp)
		s.add("mw %s %T %T %v", ci.Method, req, resp, err)
		return err
	}
}

func (s *seenCalls) Start(ctx context.Context) context.Context { return ctx }

func (s *seenCalls) Finish(ctx context.Context) {
	ci := callinfo.From(ctx)
	s.add("tracer %s recv>0:%v send>0:%v %v", ci.Method, ci.Stats.RecvSize > 0, ci.Stats.SendSize > 0, ci.Stats.Err)
}

var _ stats.Tracer = (*seenCalls)(nil)

// mirror is an unknown-method handler: it answers "<method>:<req>", and
// fails for the method "Fail".
func mirror(seen *seenCalls) server.UnknownMethodHandler {
	return func(ctx context.Context, svc, method string, req []byte) ([]byte, error) {
		ci := callinfo.From(ctx)
		if ci == nil || ci.Method != method || ci.Service != svc {
			return nil, errors.New("no call info, or other names than the handler's")
		}
		seen.add("handler %q %q %s", svc, method, req)
		if method == "Fail" {
			return nil, status.New(status.NotFound, "no such thing")
		}
		return append([]byte(method+":"), req...), nil
	}
}

func TestUnknownMethodHandler(t *testing.T) {
	seen := &seenCalls{}
	svr := start(t, echo, server.WithMiddleware(seen.middleware), server.WithTracer(seen),
		server.WithUnknownMethodHandler(mirror(seen)))
	cli := newClient(t, svr.Addr().String())

	// The client's service does not have Mirror either: a raw call.
	var out codec.Raw
	if err := cli.Call(context.Background(), "Mirror", codec.Raw("hello"), &out); err != nil {
		t.Fatal(err)
	}
	if string(out) != "Mirror:hello" {
		t.Fatalf("reply %q", out)
	}
	want := []string{
		`handler "" "Mirror" hello`, // Framed carries no service name
		"mw Mirror *codec.Raw *codec.Raw <nil>",
		"tracer Mirror recv>0:true send>0:true <nil>",
	}
	if got := seen.take(); !equal(got, want) {
		t.Fatalf("saw %q\nwant %q", got, want)
	}

	// An error reaches the client as a remote error (the toy codec keeps
	// its message only; the real ones keep the code too).
	err := cli.Call(context.Background(), "Fail", codec.Raw("x"), &out)
	if !errors.Is(err, status.ErrRemote) || status.Convert(err).Message() != "no such thing" {
		t.Fatalf("handler error: %v", err)
	}
	seen.take()

	// Registered methods are served as before, through the same chain.
	if err := cli.Call(context.Background(), "Echo", codec.Raw("typed server"), &out); err != nil || string(out) != "typed server" {
		t.Fatalf("Echo: %q %v", out, err)
	}
	if got := seen.take(); len(got) != 2 || got[0] != "mw Echo *toycodec.Bytes *toycodec.Bytes <nil>" {
		t.Fatalf("Echo: saw %q", got)
	}
}

// The Invoker serves unknown methods too, oneway calls included (the
// handler runs, nothing is written).
func TestUnknownMethodInvoker(t *testing.T) {
	seen := &seenCalls{}
	inv := server.NewInvoker(server.WithLogger(quiet), server.WithUnknownMethodHandler(mirror(seen)))
	if err := inv.RegisterService(toycodec.Service(), toycodec.Handler(echo)); err != nil {
		t.Fatal(err)
	}
	// A Framed toy call "Ping", seq 7, payload "hi".
	req := []byte{0, 0, 0, 14, 0xAB, 1, 0, 4, 'P', 'i', 'n', 'g', 0, 0, 0, 7, 'h', 'i'}
	resp, err := inv.Call(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 19, 0xAB, 2, 0, 4, 'P', 'i', 'n', 'g', 0, 0, 0, 7, 'P', 'i', 'n', 'g', ':', 'h', 'i'}
	if string(resp) != string(want) {
		t.Fatalf("got %x\nwant %x", resp, want)
	}
	oneway := []byte{0, 0, 0, 14, 0xAB, 4, 0, 4, 'P', 'o', 'k', 'e', 0, 0, 0, 8, 'y', 'o'}
	resp, err = inv.Call(context.Background(), oneway)
	if err != nil || len(resp) != 0 {
		t.Fatalf("oneway: %x %v", resp, err)
	}
	if got := seen.take(); !equal(got, []string{`handler "" "Ping" hi`, `handler "" "Poke" yo`}) {
		t.Fatalf("saw %q", got)
	}
}

// The request bytes are the handler's: the server's read buffer is not
// behind them, so a handler may keep them.
func TestUnknownMethodHandlerOwnsRequest(t *testing.T) {
	var mu sync.Mutex
	var kept [][]byte
	svr := start(t, echo, server.WithUnknownMethodHandler(func(_ context.Context, _, _ string, req []byte) ([]byte, error) {
		mu.Lock()
		kept = append(kept, req)
		mu.Unlock()
		return nil, nil
	}))
	cli := newClient(t, svr.Addr().String())
	var want []string
	for i := range 50 {
		p := fmt.Sprintf("request %d %s", i, string(make([]byte, i*37)))
		want = append(want, p)
		var out codec.Raw
		if err := cli.Call(context.Background(), "Keep", codec.Raw(p), &out); err != nil {
			t.Fatal(err)
		}
		if out != nil {
			t.Fatalf("empty reply decoded as %q", out)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range want {
		if string(kept[i]) != want[i] {
			t.Fatalf("kept request %d changed to %q", i, kept[i])
		}
	}
}
