package loadbalance

import (
	"sync"
	"sync/atomic"

	"github.com/skiffrpc/skiff/core/discovery"
)

// registry holds a balancer's per-instance state, keyed by address, as
// core's loadbalance.Feedback asks: a Done may reach an older picker than
// the current one, so state lives in the balancer, not in a picker. Reads
// are lock-free (a copy-on-write map); writes happen only when the
// instance set changes.
type registry[T any] struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[string]*T]
}

// get returns the state of addr, or nil when the registry has none.
func (r *registry[T]) get(addr string) *T {
	if m := r.m.Load(); m != nil {
		return (*m)[addr]
	}
	return nil
}

// ensure returns the states of ins, in order, creating the missing ones.
func (r *registry[T]) ensure(ins []discovery.Instance) []*T {
	out := make([]*T, len(ins))
	var cur map[string]*T
	if m := r.m.Load(); m != nil {
		cur = *m
	}
	missing := false
	for i, in := range ins {
		if out[i] = cur[in.Address()]; out[i] == nil {
			missing = true
		}
	}
	if !missing {
		return out
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur = nil
	if m := r.m.Load(); m != nil {
		cur = *m
	}
	next := make(map[string]*T, len(cur)+len(ins))
	for k, v := range cur {
		next[k] = v
	}
	for i, in := range ins {
		s := next[in.Address()]
		if s == nil {
			s = new(T)
			next[in.Address()] = s
		}
		out[i] = s
	}
	r.m.Store(&next)
	return out
}

// remove drops the state of the instances in ins.
func (r *registry[T]) remove(ins []discovery.Instance) {
	if len(ins) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.m.Load()
	if m == nil {
		return
	}
	next := make(map[string]*T, len(*m))
	for k, v := range *m {
		next[k] = v
	}
	for _, in := range ins {
		delete(next, in.Address())
	}
	r.m.Store(&next)
}

// each calls f for every state in the registry.
func (r *registry[T]) each(f func(addr string, s *T)) {
	if m := r.m.Load(); m != nil {
		for k, v := range *m {
			f(k, v)
		}
	}
}

// usable returns the instances with a positive weight.
func usable(ins []discovery.Instance) []discovery.Instance {
	out := make([]discovery.Instance, 0, len(ins))
	for _, in := range ins {
		if in.Weight() > 0 {
			out = append(out, in)
		}
	}
	return out
}
