package diag

import (
	"context"
	"runtime/pprof"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/endpoint"
)

// PprofLabels returns middleware that runs each call with the pprof labels
// "service" and "method" (runtime/pprof.Do), so CPU profiles split a
// server's or a client's time by method. It costs a few allocations per
// call: install it when profiling matters more.
func PprofLabels() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) (err error) {
			ci := callinfo.From(ctx)
			if ci == nil {
				return next(ctx, req, resp)
			}
			pprof.Do(ctx, pprof.Labels("service", ci.Service, "method", ci.Method), func(ctx context.Context) {
				err = next(ctx, req, resp)
			})
			return err
		}
	}
}
