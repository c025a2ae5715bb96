package breaker

import (
	"context"
	"reflect"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/status"
)

// WrapBalancer returns b wrapped by the instance-level breakers, for
// client.WithBalancerWrapper (Options installs it). Its pickers ask b's
// picker for an instance and pass over the instances whose breaker is
// open; when every instance is open, the pick fails with an error
// matching status.ErrCircuitOpen (the loadbalance.ErrorPicker
// capability), which a retry policy may treat as retryable elsewhere. The
// outcome of each attempt reaches the instance's breaker through the
// loadbalance.Feedback capability. When discovery removes an instance,
// its breaker is dropped (loadbalance.ChangeObserver); a breaker's
// per-address config (UpdateInstanceConfig) is kept.
//
// The wrapper keeps b's own capabilities working: Feedback goes on to b's
// picker, an ErrorPicker's errors come through, and changes go on to b
// when it is a ChangeObserver.
func (s *Suite) WrapBalancer(b loadbalance.Balancer) loadbalance.Balancer {
	return &balancer{s: s, inner: b, name: "breaker(" + b.Name() + ")"}
}

type balancer struct {
	s     *Suite
	inner loadbalance.Balancer
	name  string
}

var (
	_ loadbalance.Balancer       = (*balancer)(nil)
	_ loadbalance.ChangeObserver = (*balancer)(nil)
	_ loadbalance.ErrorPicker    = (*picker)(nil)
	_ loadbalance.Feedback       = (*picker)(nil)
)

// Name returns "breaker(<the wrapped balancer's name>)".
func (b *balancer) Name() string { return b.name }

// OnChange drops the breakers of removed instances and tells the wrapped
// balancer.
func (b *balancer) OnChange(service string, ch discovery.Change) {
	for _, in := range ch.Removed {
		b.s.dropInstance(in.Address())
	}
	if co, ok := b.inner.(loadbalance.ChangeObserver); ok {
		co.OnChange(service, ch)
	}
}

// Picker returns a picker over res.Instances that skips open instances.
func (b *balancer) Picker(res discovery.Result) loadbalance.Picker {
	p := &picker{s: b.s, inner: b.inner.Picker(res)}
	p.innerErr, _ = p.inner.(loadbalance.ErrorPicker)
	p.innerFb, _ = p.inner.(loadbalance.Feedback)
	comparable := true
	for _, in := range res.Instances {
		if in == nil {
			continue
		}
		c := b.s.instanceCell(in.Address())
		p.list = append(p.list, instCell{in: in, c: c})
		if t := reflect.TypeOf(in); !t.Comparable() {
			comparable = false
		}
	}
	switch {
	case comparable && len(p.list) <= scanMax:
		p.scan = true
	case comparable:
		p.byIns = make(map[discovery.Instance]*cell, len(p.list))
		for _, ic := range p.list {
			p.byIns[ic.in] = ic.c
		}
	default:
		p.byAddr = make(map[string]*cell, len(p.list))
		for _, ic := range p.list {
			p.byAddr[ic.in.Address()] = ic.c
		}
	}
	p.errAllOpen = status.Wrap(status.ErrCircuitOpen, "circuit open for every instance", nil)
	return p
}

// scanMax is the largest instance set whose breakers a picker finds by
// scanning its list (comparing interface words) rather than by a map
// lookup, which costs more for a few instances.
const scanMax = 8

type instCell struct {
	in discovery.Instance
	c  *cell
}

type picker struct {
	s          *Suite
	inner      loadbalance.Picker
	innerErr   loadbalance.ErrorPicker
	innerFb    loadbalance.Feedback
	list       []instCell
	scan       bool                         // find cells by scanning list (small sets of comparable instances)
	byIns      map[discovery.Instance]*cell // larger sets of comparable instances
	byAddr     map[string]*cell             // otherwise
	errAllOpen error
}

func (p *picker) cell(in discovery.Instance) *cell {
	if p.scan {
		for i := range p.list {
			if p.list[i].in == in {
				return p.list[i].c
			}
		}
		return nil
	}
	if p.byIns != nil {
		return p.byIns[in]
	}
	return p.byAddr[in.Address()]
}

func (p *picker) next(ctx context.Context) (discovery.Instance, error) {
	if p.innerErr != nil {
		return p.innerErr.Pick(ctx)
	}
	return p.inner.Next(ctx), nil
}

// Pick asks the wrapped picker for instances until it gives one whose
// breaker lets the attempt through (at most once per instance, plus
// one), then tries every instance in order; when none does, it returns an
// error matching status.ErrCircuitOpen. A half-open instance takes the
// attempt as a probe.
func (p *picker) Pick(ctx context.Context) (discovery.Instance, error) {
	for range len(p.list) + 1 {
		in, err := p.next(ctx)
		if err != nil || in == nil {
			return in, err
		}
		c := p.cell(in)
		if c == nil || p.admit(ctx, c) {
			return in, nil
		}
	}
	for _, ic := range p.list {
		if p.admit(ctx, ic.c) {
			return ic.in, nil
		}
	}
	p.s.stats[LevelInstance].rejected.Add(1)
	return nil, p.errAllOpen
}

// Next is Pick without the error: nil when every instance is open.
func (p *picker) Next(ctx context.Context) discovery.Instance {
	in, _ := p.Pick(ctx)
	return in
}

// admit reports whether the attempt may go to the instance of c.
func (p *picker) admit(ctx context.Context, c *cell) bool {
	g := c.cur.Load()
	if g.cb == nil || State(g.state.Load()) == Closed {
		return true
	}
	done, ok := g.admitSlow()
	if !ok {
		p.s.stats[LevelInstance].skipped.Add(1)
		g.expireProbes()
		return false
	}
	if done != nil {
		if at := callinfo.AttemptFrom(ctx); at != nil {
			g.addProbe(at, done)
		} else {
			done(errIgnored) // no attempt to tie the outcome to
		}
	}
	return true
}

// Done counts the attempt's outcome in the instance's breaker, then
// passes it on to the wrapped picker.
func (p *picker) Done(ctx context.Context, in discovery.Instance, info loadbalance.DoneInfo) {
	if c := p.cell(in); c != nil {
		g := c.cur.Load()
		if g.cb != nil {
			var done func(error)
			if g.probing.Load() > 0 {
				if at := callinfo.AttemptFrom(ctx); at != nil {
					done = g.takeProbe(at)
				}
			}
			if done != nil {
				done(outcomeErr(p.s.outcome(info.Err)))
				g.flush()
			} else {
				g.record(p.s.outcome(info.Err))
			}
		}
	}
	if p.innerFb != nil {
		p.innerFb.Done(ctx, in, info)
	}
}
