package skiffotel

import (
	"context"
	"testing"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/stats"
	"go.opentelemetry.io/otel/metric/noop"
	tnoop "go.opentelemetry.io/otel/trace/noop"
)

// benchTracers runs a client tracer's Start and Finish for a call recorded
// at level l, as the client runtime does.
func benchTracers(b *testing.B, l stats.Level, opts ...Option) {
	s := NewClientSuite(append([]Option{WithTracerProvider(tnoop.NewTracerProvider()),
		WithMeterProvider(noop.NewMeterProvider())}, opts...)...)
	tr := clientTracer{s.in}
	b.ReportAllocs()
	for b.Loop() {
		ci := callinfo.NewCall(context.Background())
		ci.Service, ci.Method, ci.Codec = "Svc", "Echo", "thrift"
		ci.Stats.Reset(l)
		ctx := tr.Start(ci)
		tr.Finish(ctx)
	}
}

// BenchmarkNoTracer is the baseline: the call info alone.
func BenchmarkNoTracer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ci := callinfo.NewCall(context.Background())
		ci.Service, ci.Method, ci.Codec = "Svc", "Echo", "thrift"
		ci.Stats.Reset(stats.LevelDisabled)
	}
}

// BenchmarkLevelDisabled: the suite installed, the level "disabled": no
// allocation beyond the baseline.
func BenchmarkLevelDisabled(b *testing.B) { benchTracers(b, stats.LevelDisabled) }

// BenchmarkNoopProviders: spans and metrics on, to no-op providers (the
// cost of this package's own work).
func BenchmarkNoopProviders(b *testing.B) { benchTracers(b, stats.LevelDetailed) }

// TestLevelDisabledAllocs: at level "disabled" Start and Finish allocate
// nothing and return the context unchanged.
func TestLevelDisabledAllocs(t *testing.T) {
	s := NewClientSuite(WithTracerProvider(tnoop.NewTracerProvider()), WithMeterProvider(noop.NewMeterProvider()))
	ss := NewServerSuite(WithTracerProvider(tnoop.NewTracerProvider()), WithMeterProvider(noop.NewMeterProvider()))
	ct, st := clientTracer{s.in}, serverTracer{ss.in}
	ci := callinfo.NewCall(context.Background())
	ci.Stats.Reset(stats.LevelDisabled)
	allocs := testing.AllocsPerRun(100, func() {
		if ct.Start(ci) != context.Context(ci) || st.Start(ci) != context.Context(ci) {
			t.Fatal("Start derived a context at level disabled")
		}
		ct.Finish(ci)
		st.Finish(ci)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per call at level disabled", allocs)
	}
}
