package skiffotel

import (
	"context"
	"net"
	"testing"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/stats"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkSDK is one call through the client tracer and the server
// tracer and middleware, with the SDK (spans batched to an exporter that
// drops them; metrics aggregated in memory): the instrumentation's cost
// per call, both sides together, when every call is sampled, when none is
// (a sampler's usual outcome: spans are not recorded, context still
// propagates), and with metrics alone.
func BenchmarkSDK(b *testing.B) {
	b.Run("sampled", func(b *testing.B) { benchSDK(b, sdktrace.AlwaysSample(), false) })
	b.Run("unsampled", func(b *testing.B) { benchSDK(b, sdktrace.NeverSample(), false) })
	b.Run("metrics-only", func(b *testing.B) { benchSDK(b, sdktrace.NeverSample(), true) })
}

func benchSDK(b *testing.B, sampler sdktrace.Sampler, noTracing bool) {
	call := sdkCall(b, sampler, noTracing)
	b.ReportAllocs()
	for b.Loop() {
		call()
	}
}

// sdkCall returns a function that runs one call through the client tracer
// and the server tracer and middleware, with the SDK set up as
// BenchmarkSDK describes.
func sdkCall(tb testing.TB, sampler sdktrace.Sampler, noTracing bool) func() {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}), sdktrace.WithSampler(sampler))
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tb.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	opts := []Option{WithTracerProvider(tp), WithMeterProvider(mp)}
	if noTracing {
		opts = append(opts, WithoutTracing())
	}
	cs, ss := NewClientSuite(opts...), NewServerSuite(opts...)
	ct, st := clientTracer{cs.in}, serverTracer{ss.in}
	mw := ss.middleware(func(context.Context, any, any) error { return nil })
	peer := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	return func() {
		ci := callinfo.NewCall(context.Background())
		ci.Service, ci.Method, ci.Codec = "EchoService", "Echo", "thrift"
		ci.Stats.Reset(stats.LevelDetailed)
		ctx := ct.Start(ci)

		// The server reads what the client's transport would send.
		si := callinfo.New(context.Background())
		si.Service, si.Method, si.Codec, si.RemoteAddr = "EchoService", "Echo", "thrift", peer
		si.Request = ci.Request
		si.Stats.Reset(stats.LevelDetailed)
		sctx := st.Start(si)
		_ = mw(sctx, nil, nil)
		st.Finish(sctx)

		ct.Finish(ctx)
	}
}
