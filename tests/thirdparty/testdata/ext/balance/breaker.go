package balance

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/status"
)

// BreakerParams configures [NewBreaker].
type BreakerParams struct {
	// Failures is the number of consecutive failed attempts after which an
	// instance is skipped; default 3.
	Failures int
	// Cooldown is how long an instance is skipped; after it, calls may
	// probe the instance again (one success closes it, one failure skips
	// it for another cooldown). Default 10 s.
	Cooldown time.Duration
}

// Breaker skips instances whose last N attempts failed. Install it around
// the client's balancer with client.WithBalancerWrapper(b.Wrap).
//
// An attempt counts as failed unless it succeeded, ended with a declared
// exception or a business error (the service answered), or was canceled
// by the caller. The state is kept per instance address and shared by
// every balancer b wraps: give each client its own Breaker. When every
// instance is skipped the picker has none to offer and the call fails with
// status.ErrNoInstance.
type Breaker struct {
	p BreakerParams

	gen atomic.Uint64 // bumped whenever an instance is opened or closed

	mu     sync.Mutex
	states map[string]*breakerState // by address
}

type breakerState struct {
	fails     atomic.Int64
	openUntil atomic.Int64 // unix nanoseconds; 0 when closed
}

// NewBreaker returns a Breaker; zero fields of p take their defaults.
func NewBreaker(p BreakerParams) *Breaker {
	if p.Failures <= 0 {
		p.Failures = 3
	}
	if p.Cooldown <= 0 {
		p.Cooldown = 10 * time.Second
	}
	return &Breaker{p: p, states: map[string]*breakerState{}}
}

// Wrap returns inner with the breaker around it. It is the function to
// give client.WithBalancerWrapper.
func (b *Breaker) Wrap(inner loadbalance.Balancer) loadbalance.Balancer {
	return &breakerBalancer{b: b, inner: inner}
}

// Open reports whether the instance at addr is being skipped now.
func (b *Breaker) Open(addr string) bool {
	st := b.lookup(addr)
	return st != nil && st.openUntil.Load() > time.Now().UnixNano()
}

// Tracked returns how many instances the breaker keeps a state for.
func (b *Breaker) Tracked() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.states)
}

func (b *Breaker) lookup(addr string) *breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.states[addr]
}

func (b *Breaker) state(addr string) *breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.states[addr]
	if st == nil {
		st = &breakerState{}
		b.states[addr] = st
	}
	return st
}

// record takes the outcome of one attempt on the instance at addr.
func (b *Breaker) record(addr string, err error) {
	st := b.state(addr)
	if !failed(err) {
		if st.fails.Swap(0) != 0 && st.openUntil.Swap(0) != 0 {
			b.gen.Add(1) // a probe succeeded: closed again
		}
		return
	}
	n := st.fails.Add(1)
	now := time.Now().UnixNano()
	if n >= int64(b.p.Failures) && st.openUntil.Load() <= now {
		// Opened, or a probe after the cooldown failed: skip it again.
		st.openUntil.Store(now + int64(b.p.Cooldown))
		b.gen.Add(1)
	}
}

// failed reports whether an attempt's error counts against the instance.
func failed(err error) bool {
	if err == nil || status.IsDeclared(err) || errors.Is(err, status.ErrCanceled) {
		return false
	}
	var biz *status.BizError
	return !errors.As(err, &biz)
}

// forget drops the state of the instances removed from a service.
func (b *Breaker) forget(removed []discovery.Instance) {
	if len(removed) == 0 {
		return
	}
	b.mu.Lock()
	for _, in := range removed {
		delete(b.states, in.Address())
	}
	b.mu.Unlock()
	b.gen.Add(1)
}

// breakerBalancer is one wrapped balancer.
type breakerBalancer struct {
	b     *Breaker
	inner loadbalance.Balancer
}

var (
	_ loadbalance.Balancer       = (*breakerBalancer)(nil)
	_ loadbalance.ChangeObserver = (*breakerBalancer)(nil)
	_ loadbalance.Feedback       = (*breakerPicker)(nil)
)

func (w *breakerBalancer) Name() string { return "breaker(" + w.inner.Name() + ")" }

// OnChange drops the state of removed instances and tells the wrapped
// balancer, which the client cannot see behind the wrapper.
func (w *breakerBalancer) OnChange(service string, ch discovery.Change) {
	w.b.forget(ch.Removed)
	if co, ok := w.inner.(loadbalance.ChangeObserver); ok {
		co.OnChange(service, ch)
	}
}

// Picker returns a picker that hands the wrapped balancer only the
// instances not being skipped, rebuilding the wrapped picker when an
// instance opens or closes or a cooldown ends.
func (w *breakerBalancer) Picker(res discovery.Result) loadbalance.Picker {
	return &breakerPicker{w: w, res: res}
}

type breakerPicker struct {
	w   *breakerBalancer
	res discovery.Result

	mu  sync.Mutex
	cur atomic.Pointer[breakerView]
}

// breakerView is the wrapped picker over the instances not skipped at
// generation gen, valid until recheck (unix nanoseconds; 0: no cooldown
// pending).
type breakerView struct {
	gen     uint64
	recheck int64
	p       loadbalance.Picker
}

func (p *breakerPicker) view() *breakerView {
	gen, now := p.w.b.gen.Load(), time.Now().UnixNano()
	if v := p.cur.Load(); v != nil && v.gen == gen && (v.recheck == 0 || now < v.recheck) {
		return v
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if v := p.cur.Load(); v != nil && v.gen == gen && (v.recheck == 0 || now < v.recheck) {
		return v
	}
	v := &breakerView{gen: gen}
	res := p.res
	res.Instances = make([]discovery.Instance, 0, len(p.res.Instances))
	for _, in := range p.res.Instances {
		if st := p.w.b.lookup(in.Address()); st != nil {
			if until := st.openUntil.Load(); until > now {
				if v.recheck == 0 || until < v.recheck {
					v.recheck = until
				}
				continue
			}
		}
		res.Instances = append(res.Instances, in)
	}
	if len(res.Instances) != len(p.res.Instances) {
		res.Cacheable, res.Key = false, ""
	}
	v.p = p.w.inner.Picker(res)
	p.cur.Store(v)
	return v
}

func (p *breakerPicker) Next(ctx context.Context) discovery.Instance {
	return p.view().p.Next(ctx)
}

// Done implements loadbalance.Feedback: it counts the outcome, then passes
// it on to the wrapped picker if that takes feedback. The wrapped picker
// is the current one, which may have been rebuilt since the pick: wrapped
// balancers should keep their per-instance state in the balancer (as
// LeastLatency does), not in the picker.
func (p *breakerPicker) Done(ctx context.Context, in discovery.Instance, info loadbalance.DoneInfo) {
	p.w.b.record(in.Address(), info.Err)
	if fb, ok := p.view().p.(loadbalance.Feedback); ok {
		fb.Done(ctx, in, info)
	}
}
