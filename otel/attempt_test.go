package skiffotel_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/status"
	skiffotel "github.com/skiffrpc/skiff/otel"
	"go.opentelemetry.io/otel/attribute"
)

// retryOnce is a client middleware that tries a failed call once more, as
// a retry module would: each try is a new attempt.
func retryOnce(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		if err := next(ctx, req, resp); err == nil || status.IsDeclared(err) {
			return err
		}
		return next(ctx, req, resp)
	}
}

// TestAttemptEvents: a call that fails once and succeeds on its second
// attempt has one span with skiff.rpc.attempts = 2 and an "rpc.attempt"
// event per attempt (the first with its error.type); a call tried once has
// no attempt events.
func TestAttemptEvents(t *testing.T) {
	tel := newTelemetry(t)
	var n atomic.Int32
	addr := startServer(t, func(ctx context.Context, in, out *msg) error {
		if in.Text == "flaky" && n.Add(1) == 1 {
			return status.New(status.Unavailable, "try again")
		}
		out.Text = in.Text
		return nil
	})
	cli := newClient(t, addr, client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)), client.WithMiddleware(retryOnce))
	if _, err := call(context.Background(), cli, "flaky"); err != nil {
		t.Fatal(err)
	}
	cs, _ := waitSpans(t, tel, 1)
	if got := attrs(cs)[skiffotel.AttemptsKey].AsInt64(); got != 2 {
		t.Errorf("%s = %d, want 2", skiffotel.AttemptsKey, got)
	}
	type ev struct {
		n       int64
		errType string
	}
	var evs []ev
	for _, e := range cs.Events() {
		if e.Name != skiffotel.AttemptEvent {
			continue
		}
		m := map[attribute.Key]attribute.Value{}
		for _, kv := range e.Attributes {
			m[kv.Key] = kv.Value
		}
		if m["server.address"].AsString() != "127.0.0.1" {
			t.Errorf("attempt event without server.address: %v", e.Attributes)
		}
		evs = append(evs, ev{m[skiffotel.AttemptNumberKey].AsInt64(), m["error.type"].AsString()})
	}
	if len(evs) != 2 || evs[1] != (ev{2, ""}) || evs[0] != (ev{1, "internal"}) && evs[0] != (ev{1, "unavailable"}) {
		t.Errorf("attempt events %+v, want attempt 1 (failed) then attempt 2 (ok)", evs)
	}
	if cs.Status().Code != 0 {
		t.Errorf("a call that succeeded on retry has status %v", cs.Status())
	}

	tel2 := newTelemetry(t)
	cli2 := newClient(t, addr, client.WithSuite(skiffotel.NewClientSuite(tel2.opts()...)), client.WithMiddleware(retryOnce))
	if _, err := call(context.Background(), cli2, "ok"); err != nil {
		t.Fatal(err)
	}
	cs2, _ := waitSpans(t, tel2, 1)
	for _, e := range cs2.Events() {
		if e.Name == skiffotel.AttemptEvent {
			t.Errorf("a call tried once has an attempt event: %v", e)
		}
	}
	if _, has := attrs(cs2)[skiffotel.AttemptsKey]; has {
		t.Error("a call tried once has the attempts attribute")
	}
}
