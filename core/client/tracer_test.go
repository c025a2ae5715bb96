package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/stats"
)

type recTracer struct {
	starts, finishes int
	times            []time.Time
	method           string
	err              error
}

func (r *recTracer) Start(ctx context.Context) context.Context { r.starts++; return ctx }

func (r *recTracer) Finish(ctx context.Context) {
	r.finishes++
	ci := callinfo.From(ctx)
	r.method, r.err = ci.Method, ci.Stats.Err
	r.times = r.times[:0]
	for _, e := range []stats.Event{stats.RPCStart, stats.ClientConnStart, stats.ClientConnFinish,
		stats.WriteStart, stats.WriteFinish, stats.ReadStart, stats.ReadFinish, stats.RPCFinish} {
		ts, ok := ci.Stats.Time(e)
		if !ok {
			r.times = append(r.times, time.Time{})
			continue
		}
		r.times = append(r.times, ts)
	}
}

func TestTracerSeesOrderedEvents(t *testing.T) {
	addr := start(t, func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	tr := &recTracer{}
	cli, _ := client.New(toycodec.Service(), client.WithHostPorts(addr), client.WithTracer(tr))
	defer cli.Close()
	if _, err := call(cli, "x"); err != nil {
		t.Fatal(err)
	}
	if tr.starts != 1 || tr.finishes != 1 || tr.method != "Echo" || tr.err != nil {
		t.Fatalf("tracer saw %+v", tr)
	}
	for i, ts := range tr.times {
		if ts.IsZero() {
			t.Fatalf("event %d not recorded", i)
		}
		if i > 0 && ts.Before(tr.times[i-1]) {
			t.Fatalf("event %d earlier than event %d", i, i-1)
		}
	}
	// With the level set to disabled nothing is stamped.
	off := &recTracer{}
	cli2, _ := client.New(toycodec.Service(), client.WithHostPorts(addr), client.WithTracer(off), client.WithStatsLevel(stats.LevelDisabled))
	defer cli2.Close()
	if _, err := call(cli2, "x"); err != nil {
		t.Fatal(err)
	}
	for _, ts := range off.times {
		if !ts.IsZero() {
			t.Fatal("an event was recorded at LevelDisabled")
		}
	}
}
