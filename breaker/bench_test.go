package breaker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skiffrpc/skiff/breaker"
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/loadbalance"
)

// BenchmarkServiceMiddleware is the cost the service-level breaker adds to
// a call while it is closed: the key lookup, the state check and counting
// the success.
func BenchmarkServiceMiddleware(b *testing.B) {
	s := breaker.NewSuite(breaker.WithLogger(quiet))
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error { return nil })
	ci := callinfo.NewCall(context.Background())
	ci.Caller, ci.Service, ci.Method = "caller", "EchoService", "Echo"
	b.ReportAllocs()
	for b.Loop() {
		if err := ep(ci, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServiceMiddlewareParallel is the same under contention.
func BenchmarkServiceMiddlewareParallel(b *testing.B) {
	s := breaker.NewSuite(breaker.WithLogger(quiet))
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error { return nil })
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ci := callinfo.NewCall(context.Background())
		ci.Caller, ci.Service, ci.Method = "caller", "EchoService", "Echo"
		for pb.Next() {
			if err := ep(ci, nil, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPicker is the cost of a pick and its feedback through the
// instance-level breakers while all are closed, on top of the wrapped
// round-robin picker (BenchmarkPickerBaseline).
func BenchmarkPicker(b *testing.B) {
	s := breaker.NewSuite(breaker.WithLogger(quiet))
	p := s.WrapBalancer(loadbalance.NewWeightedRoundRobin()).Picker(instances("10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"))
	ep, fb := p.(loadbalance.ErrorPicker), p.(loadbalance.Feedback)
	ci := callinfo.NewCall(context.Background())
	ctx, _ := ci.StartAttempt(ci)
	b.ReportAllocs()
	for b.Loop() {
		in, err := ep.Pick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		fb.Done(ctx, in, loadbalance.DoneInfo{})
	}
}

// BenchmarkPickerBaseline is the wrapped picker alone.
func BenchmarkPickerBaseline(b *testing.B) {
	p := loadbalance.NewWeightedRoundRobin().Picker(instances("10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if p.Next(ctx) == nil {
			b.Fatal("nil")
		}
	}
}

// BenchmarkServiceMiddlewareTwoMethods alternates two methods on one
// client: every call misses the per-client cache and looks its breaker up
// in the suite's map.
func BenchmarkServiceMiddlewareTwoMethods(b *testing.B) {
	s := breaker.NewSuite(breaker.WithLogger(quiet))
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error { return nil })
	var cis [2]*callinfo.Info
	for i, m := range []string{"Echo", "Fail"} {
		cis[i] = callinfo.NewCall(context.Background())
		cis[i].Caller, cis[i].Service, cis[i].Method = "caller", "EchoService", m
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := ep(cis[i&1], nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPicker100 is BenchmarkPicker over 100 instances (breakers found
// by a map lookup instead of a scan).
func BenchmarkPicker100(b *testing.B) {
	s := breaker.NewSuite(breaker.WithLogger(quiet))
	var addrs []string
	for i := range 100 {
		addrs = append(addrs, fmt.Sprintf("10.0.%d.%d:1", i/250, i%250+1))
	}
	p := s.WrapBalancer(loadbalance.NewWeightedRoundRobin()).Picker(instances(addrs...))
	ep, fb := p.(loadbalance.ErrorPicker), p.(loadbalance.Feedback)
	ci := callinfo.NewCall(context.Background())
	ctx, _ := ci.StartAttempt(ci)
	b.ReportAllocs()
	for b.Loop() {
		in, err := ep.Pick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		fb.Done(ctx, in, loadbalance.DoneInfo{})
	}
}
