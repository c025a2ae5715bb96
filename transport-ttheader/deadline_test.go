package ttheader_test

import (
	"context"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// TestServerDeadlineFromArrival: the caller's time budget counts from
// msg.Received when the server set it, else from now.
func TestServerDeadlineFromArrival(t *testing.T) {
	p := ttheader.TTHeader
	msg := &codec.Message{}
	msg.Meta.SetInt(ttheader.KeyRPCTimeout, "50")
	msg.Received = time.Now().Add(-time.Second)
	ctx, cancel := p.ServerReadMeta(context.Background(), msg)
	defer cancel()
	if ctx.Err() == nil {
		t.Errorf("a 50 ms budget received 1 s ago has not expired")
	}
	msg.Received = time.Time{}
	ctx2, cancel2 := p.ServerReadMeta(context.Background(), msg)
	defer cancel2()
	d, ok := ctx2.Deadline()
	if !ok || time.Until(d) < 30*time.Millisecond || ctx2.Err() != nil {
		t.Errorf("without Received: deadline %v (ok %v), err %v", time.Until(d), ok, ctx2.Err())
	}
}

// TestClientPassedDeadlineBounded: a request whose deadline passed before
// it was written still carries a budget (1 ms), never none.
func TestClientPassedDeadlineBounded(t *testing.T) {
	ci := callinfo.New(context.Background())
	ci.Service = "svc"
	ctx, cancel := context.WithDeadline(ci, time.Now().Add(-time.Millisecond))
	defer cancel()
	msg := &codec.Message{Method: "m", Type: codec.Call}
	ttheader.TTHeader.ClientWriteMeta(ctx, msg)
	if v, ok := msg.Meta.Int(ttheader.KeyRPCTimeout); !ok || v != "1" {
		t.Errorf("timeout key %q (present %v), want 1", v, ok)
	}
	// No deadline, no RPC timeout: no key.
	msg2 := &codec.Message{Method: "m", Type: codec.Call}
	ttheader.TTHeader.ClientWriteMeta(ci, msg2)
	if v, ok := msg2.Meta.Int(ttheader.KeyRPCTimeout); ok {
		t.Errorf("timeout key %q without a deadline", v)
	}
}
