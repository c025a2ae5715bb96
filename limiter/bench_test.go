package limiter_test

import (
	"context"
	"testing"

	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/limiter"
)

// The fast path: calls the limits admit. Each benchmark reports ns and
// allocations per call through the middleware (the handler does nothing).

func benchEndpoint(b *testing.B, ep endpoint.Endpoint, ctx context.Context) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ep(ctx, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLimiterNoLimits(b *testing.B) {
	benchEndpoint(b, limiter.New().Middleware()(ok), callCtx("Echo"))
}

func BenchmarkLimiterUnderLimits(b *testing.B) {
	l := limiter.New(limiter.WithLogger(quiet),
		limiter.WithLimits(limiter.Limits{QPS: 1e12, Concurrency: 1 << 20}),
		limiter.WithMethodLimits("Echo", limiter.Limits{QPS: 1e12, Concurrency: 1 << 20}))
	benchEndpoint(b, l.Middleware()(ok), callCtx("Echo"))
}

func BenchmarkLimiterAdaptive(b *testing.B) {
	l := limiter.New(limiter.WithAdaptive(), limiter.WithLogger(quiet))
	benchEndpoint(b, l.Middleware()(ok), callCtx("Echo"))
}

func BenchmarkLimiterUnderLimitsParallel(b *testing.B) {
	l := limiter.New(limiter.WithLogger(quiet),
		limiter.WithLimits(limiter.Limits{QPS: 1e12, Concurrency: 1 << 20}))
	ep := l.Middleware()(ok)
	ctx := callCtx("Echo")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := ep(ctx, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkThrottleNotThrottling(b *testing.B) {
	benchEndpoint(b, limiter.NewThrottle().Middleware()(ok), context.Background())
}
