package breaker

import (
	"context"
	"sync/atomic"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/endpoint"
)

// ServiceMiddleware returns the client middleware of the service-level
// breakers: each call is counted by the breaker of its (caller, callee
// service, method), and while that breaker is open the call fails at once
// with an error matching status.ErrCircuitOpen, before any instance is
// picked. Install it with client.WithMiddleware (Options does); put it
// inside a retry middleware so that every try is counted.
//
// Calls without call info in their context pass untouched.
func (s *Suite) ServiceMiddleware() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		// last is the cell of this client's last call: a client calling
		// one method finds its breaker without a map lookup.
		var last atomic.Pointer[cell]
		return func(ctx context.Context, req, resp any) error {
			ci := callinfo.From(ctx)
			if ci == nil {
				return next(ctx, req, resp)
			}
			c := last.Load()
			if c == nil || c.sk.Method != ci.Method || c.sk.Service != ci.Service || c.sk.Caller != ci.Caller {
				c = s.serviceCell(ci.Caller, ci.Service, ci.Method)
				last.Store(c)
			}
			g := c.cur.Load()
			if g.cb == nil { // disabled
				return next(ctx, req, resp)
			}
			if State(g.state.Load()) == Closed {
				err := next(ctx, req, resp)
				g.record(s.outcome(err))
				return err
			}
			done, ok := g.admitSlow()
			if !ok {
				s.stats[LevelService].rejected.Add(1)
				return c.errOpen
			}
			if done == nil {
				err := next(ctx, req, resp)
				g.record(s.outcome(err))
				return err
			}
			return s.probe(ctx, g, done, next, req, resp)
		}
	}
}

// probe makes a half-open breaker's probe call and reports its outcome,
// as a failure if next panics (so the probe slot is never lost).
func (s *Suite) probe(ctx context.Context, g *gen, done func(error), next endpoint.Endpoint, req, resp any) (err error) {
	reported := false
	defer func() {
		if !reported {
			done(errFailed)
			g.flush()
		}
	}()
	err = next(ctx, req, resp)
	reported = true
	done(outcomeErr(s.outcome(err)))
	g.flush()
	return err
}
