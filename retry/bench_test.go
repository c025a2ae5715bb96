package retry_test

import (
	"context"
	"testing"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/retry"
)

// BenchmarkFastPath is the retry middleware's own cost on a call that
// needs no retry (the endpoint it wraps does nothing): the target is at
// most 1 allocation and 100 ns per call.
func BenchmarkFastPath(b *testing.B) {
	for _, bc := range []struct {
		name string
		r    *retry.Retryer
	}{
		{"failure-policy", retry.New(retry.WithIdempotent("Get"), retry.WithMethodPolicy("Get", retry.Policy{}))},
		{"no-policy", retry.New()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mw := bc.r.Middleware(func(context.Context, any, any) error { return nil })
			ci := callinfo.NewCall(context.Background())
			ci.Service, ci.Method = "Svc", "Get"
			req, resp := &Bytes{}, &Bytes{}
			b.ReportAllocs()
			for b.Loop() {
				if err := mw(ci, req, resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("failure-policy-parallel", func(b *testing.B) {
		r := retry.New(retry.WithIdempotent("Get"), retry.WithMethodPolicy("Get", retry.Policy{}))
		mw := r.Middleware(func(context.Context, any, any) error { return nil })
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ci := callinfo.NewCall(context.Background())
			ci.Service, ci.Method = "Svc", "Get"
			req, resp := &Bytes{}, &Bytes{}
			for pb.Next() {
				_ = mw(ci, req, resp)
			}
		})
	})
}

// BenchmarkWrappedPick is the balancer wrapper's cost on a first attempt's
// pick.
func BenchmarkWrappedPick(b *testing.B) {
	var ins []discovery.Instance
	for _, a := range []string{"127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003"} {
		in, _ := discovery.ParseAddress(a)
		ins = append(ins, in)
	}
	p := retry.WrapBalancer(loadbalance.NewWeightedRoundRobin()).Picker(discovery.Result{Instances: ins})
	ci := callinfo.NewCall(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		if p.Next(ci) == nil {
			b.Fatal("no instance")
		}
	}
}
