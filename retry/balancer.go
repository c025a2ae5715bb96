package retry

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/status"
)

// hint is what the retry middleware tells the picker about one attempt:
// the addresses the call already tried, or the instance to go to. The
// picker writes back what it picked.
type hint struct {
	exclude []string
	same    discovery.Instance

	mu      sync.Mutex
	picked  discovery.Instance
	by      *subPicker // the picker that picked, when not the wrapped one
	pinned  bool       // picked = same: no picker picked, no feedback
	attempt *callinfo.Attempt
}

func (h *hint) set(ctx context.Context, in discovery.Instance, by *subPicker, pinned bool) {
	at := callinfo.AttemptFrom(ctx)
	h.mu.Lock()
	h.picked, h.by, h.pinned, h.attempt = in, by, pinned, at
	h.mu.Unlock()
}

// attemptOf returns the attempt the hint's pick was for, once picked.
func (h *hint) attemptOf() *callinfo.Attempt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attempt
}

func (h *hint) get() (discovery.Instance, *subPicker, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.picked, h.by, h.pinned
}

type hintKey struct{}

// hintCtx carries a hint.
type hintCtx struct {
	context.Context
	h *hint
}

func (c *hintCtx) Value(k any) any {
	if _, ok := k.(hintKey); ok {
		return c.h
	}
	return c.Context.Value(k)
}

func hintOf(ctx context.Context) *hint {
	h, _ := ctx.Value(hintKey{}).(*hint)
	return h
}

// WrapBalancer wraps b so that a retry or backup request of the retry
// middleware goes to an instance its call has not tried yet (while there
// is one), or to the first attempt's instance when the policy says
// SameInstance. Other picks go to b's picker unchanged. Retryer.Options
// installs it with client.WithBalancerWrapper; without it retries are
// balanced as first attempts are.
//
// The wrapper passes on b's capabilities: its pickers' feedback
// (loadbalance.Feedback, to the picker that picked) and ErrorPicker, and
// b's ChangeObserver. To avoid instances, it asks b for a picker over the
// instance set without them (cached per instance set); a balancer that
// keeps its per-instance state in the balancer, as loadbalance.Feedback
// recommends, keeps it across those pickers. An attempt sent to the same
// instance gets no feedback call: no picker picked it.
func WrapBalancer(b loadbalance.Balancer) loadbalance.Balancer { return &balancer{inner: b} }

type balancer struct{ inner loadbalance.Balancer }

func (b *balancer) Name() string { return b.inner.Name() }

func (b *balancer) Picker(res discovery.Result) loadbalance.Picker {
	return &picker{bal: b.inner, res: res, subPicker: newSubPicker(b.inner.Picker(res))}
}

// OnChange implements loadbalance.ChangeObserver for the wrapped balancer.
func (b *balancer) OnChange(service string, ch discovery.Change) {
	if o, ok := b.inner.(loadbalance.ChangeObserver); ok {
		o.OnChange(service, ch)
	}
}

// subPicker is a picker with its capabilities found once.
type subPicker struct {
	p       loadbalance.Picker
	errPick loadbalance.ErrorPicker
	fb      loadbalance.Feedback
}

func newSubPicker(p loadbalance.Picker) *subPicker {
	s := &subPicker{p: p}
	s.errPick, _ = p.(loadbalance.ErrorPicker)
	s.fb, _ = p.(loadbalance.Feedback)
	return s
}

func (s *subPicker) pick(ctx context.Context) (discovery.Instance, error) {
	if s.errPick != nil {
		return s.errPick.Pick(ctx)
	}
	return s.p.Next(ctx), nil
}

// maxSubPickers bounds the pickers over reduced instance sets a picker
// keeps.
const maxSubPickers = 64

type picker struct {
	*subPicker
	bal loadbalance.Balancer
	res discovery.Result

	mu   sync.Mutex
	subs map[string]*subPicker
}

func (p *picker) Next(ctx context.Context) discovery.Instance {
	in, _ := p.Pick(ctx)
	return in
}

func (p *picker) Pick(ctx context.Context) (discovery.Instance, error) {
	h := hintOf(ctx)
	if h == nil {
		return p.pick(ctx)
	}
	if h.same != nil {
		h.set(ctx, h.same, nil, true)
		return h.same, nil
	}
	by := p.subPicker
	if len(h.exclude) > 0 {
		if sp := p.without(h.exclude); sp != nil {
			by = sp
		}
	}
	in, err := by.pick(ctx)
	if in == nil && err == nil {
		err = status.Wrap(status.ErrNoInstance, "no instance left to retry on", nil)
	}
	if by == p.subPicker {
		by = nil
	}
	h.set(ctx, in, by, false)
	return in, err
}

// Done implements loadbalance.Feedback: the outcome goes to the picker
// that picked the instance.
func (p *picker) Done(ctx context.Context, in discovery.Instance, info loadbalance.DoneInfo) {
	by := p.subPicker
	if h := hintOf(ctx); h != nil {
		_, sub, pinned := h.get()
		if pinned {
			return
		}
		if sub != nil {
			by = sub
		}
	}
	if by.fb != nil {
		by.fb.Done(ctx, in, info)
	}
}

// without returns a picker over the instance set without the addresses
// excluded, or nil when that would leave none.
func (p *picker) without(excluded []string) *subPicker {
	key := excluded[0]
	if len(excluded) > 1 {
		s := slices.Clone(excluded)
		slices.Sort(s)
		key = strings.Join(s, "\x00")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if sp, ok := p.subs[key]; ok {
		return sp
	}
	kept := make([]discovery.Instance, 0, len(p.res.Instances))
	for _, in := range p.res.Instances {
		if !slices.Contains(excluded, in.Address()) && in.Weight() > 0 {
			kept = append(kept, in)
		}
	}
	var sp *subPicker
	if len(kept) > 0 {
		res := discovery.Result{Instances: kept}
		if p.res.Cacheable {
			res.Cacheable, res.Key = true, p.res.Key+"\x00retry-without\x00"+key
		}
		sp = newSubPicker(p.bal.Picker(res))
	}
	if p.subs == nil {
		p.subs = map[string]*subPicker{}
	}
	if len(p.subs) < maxSubPickers {
		p.subs[key] = sp
	}
	return sp
}
