package retry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
)

// AnyMethod is the method name of a policy or idempotency mark that
// applies to every method without one of its own.
const AnyMethod = "*"

// Fallback replaces the outcome of a failed call: it gets the call's
// arguments, its result (to fill) and the final error, after every retry,
// and returns the error the caller sees; nil means resp now holds a
// successful result. It runs on the call's goroutine.
type Fallback func(ctx context.Context, req, resp any, err error) error

// Retryer retries the calls of the clients it is installed in (it is a
// client.Suite: client.WithSuite(r)). One Retryer may serve several
// clients: its budgets and counters are kept per target service and
// method. Its methods are safe for concurrent use, also while calls run:
// a policy set with SetPolicy applies to the calls that start afterwards.
type Retryer struct {
	mu       sync.Mutex
	policies atomic.Pointer[map[string]*policy]
	idem     atomic.Pointer[map[string]bool]
	gen      atomic.Uint64
	states   atomic.Pointer[map[stateKey]*methodState]
	fallback Fallback
}

type stateKey struct{ service, method string }

// Option configures a Retryer.
type Option interface{ apply(*Retryer) }

type optionFunc func(*Retryer)

func (f optionFunc) apply(r *Retryer) { f(r) }

// WithMethodPolicy installs p for method (AnyMethod: for every method
// without a policy of its own). Methods without a policy are not retried,
// except by the per-call WithPolicy.
func WithMethodPolicy(method string, p Policy) Option {
	return optionFunc(func(r *Retryer) { r.setPolicy(method, p) })
}

// WithIdempotent marks methods as idempotent: safe to run more than once,
// so a failure after the request was sent may be retried, and backup
// requests may be sent. AnyMethod marks every method. A method not marked
// is retried only when its request was not sent.
func WithIdempotent(methods ...string) Option {
	return optionFunc(func(r *Retryer) { r.SetIdempotent(true, methods...) })
}

// WithFallback sets the fallback of every call that fails (see Fallback).
// A per-call WithCallFallback replaces it for that call.
func WithFallback(f Fallback) Option {
	return optionFunc(func(r *Retryer) { r.fallback = f })
}

// New returns a Retryer configured by opts.
func New(opts ...Option) *Retryer {
	r := &Retryer{}
	r.policies.Store(&map[string]*policy{})
	r.idem.Store(&map[string]bool{})
	r.states.Store(&map[stateKey]*methodState{})
	for _, o := range opts {
		o.apply(r)
	}
	return r
}

// Options implements client.Suite: the retry middleware and the balancer
// wrapper that sends retries to instances not tried yet. The middleware
// is added where WithSuite is among the client's options: put it first to
// retry around every other middleware, after those that should see the
// call only once.
func (r *Retryer) Options() []client.Option {
	return []client.Option{
		client.WithMiddleware(r.Middleware),
		client.WithBalancerWrapper(WrapBalancer),
	}
}

// SetPolicy installs p for method (AnyMethod: every method without its
// own), replacing the one it had; calls that start afterwards use it.
func (r *Retryer) SetPolicy(method string, p Policy) { r.setPolicy(method, p) }

func (r *Retryer) setPolicy(method string, p Policy) {
	n := normalize(p)
	r.mu.Lock()
	old := *r.policies.Load()
	m := make(map[string]*policy, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[method] = n
	r.policies.Store(&m)
	r.gen.Add(1)
	r.mu.Unlock()
}

// DeletePolicy removes the policy of method (AnyMethod: the default one).
func (r *Retryer) DeletePolicy(method string) {
	r.mu.Lock()
	old := *r.policies.Load()
	m := make(map[string]*policy, len(old))
	for k, v := range old {
		if k != method {
			m[k] = v
		}
	}
	r.policies.Store(&m)
	r.gen.Add(1)
	r.mu.Unlock()
}

// Policy returns the policy installed for method (with its defaults
// applied), and whether there is one; the AnyMethod policy counts when
// method has none.
func (r *Retryer) Policy(method string) (Policy, bool) {
	m := *r.policies.Load()
	p := m[method]
	if p == nil {
		p = m[AnyMethod]
	}
	if p == nil {
		return Policy{}, false
	}
	return p.Policy, true
}

// SetIdempotent marks (on true) or unmarks methods as idempotent; see
// WithIdempotent.
func (r *Retryer) SetIdempotent(on bool, methods ...string) {
	r.mu.Lock()
	old := *r.idem.Load()
	m := make(map[string]bool, len(old)+len(methods))
	for k, v := range old {
		m[k] = v
	}
	for _, k := range methods {
		if on {
			m[k] = true
		} else {
			delete(m, k)
		}
	}
	r.idem.Store(&m)
	r.mu.Unlock()
}

func (r *Retryer) idempotent(method string) bool {
	m := *r.idem.Load()
	return m[method] || m[AnyMethod]
}

// state returns the state of a call's service and method, creating it on
// first use, with the method's policy resolved (nil: none).
func (r *Retryer) state(ci *callinfo.Info) (*methodState, *policy) {
	k := stateKey{ci.Service, ci.Method}
	s := (*r.states.Load())[k]
	if s == nil {
		s = r.newState(k)
	}
	gen := r.gen.Load()
	if s.gen.Load() != gen {
		m := *r.policies.Load()
		p := m[ci.Method]
		if p == nil {
			p = m[AnyMethod]
		}
		s.pol.Store(p)
		s.gen.Store(gen)
		return s, p
	}
	return s, s.pol.Load()
}

func (r *Retryer) newState(k stateKey) *methodState {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.states.Load()
	if s := old[k]; s != nil {
		return s
	}
	m := make(map[stateKey]*methodState, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	s := newMethodState(time.Now())
	s.gen.Store(^uint64(0)) // resolve the policy on first use
	m[k] = s
	r.states.Store(&m)
	return s
}

// Stats are a Retryer's counters since it was made, summed over its
// target services and methods.
type Stats struct {
	// Calls is the calls that had a policy.
	Calls int64
	// Attempts is every attempt those calls made: Calls + Retries + Hedges.
	Attempts int64
	// Retries is the failure retries (UnsentRetries included).
	Retries int64
	// Hedges is the backup requests sent.
	Hedges int64
	// UnsentRetries is the retries of requests that were not sent.
	UnsentRetries int64
	// BudgetStops, CircuitStops, ChainStops, DeadlineStops and
	// IdempotencyStops count the retries or backup requests not made
	// because the budget was spent, the circuit was open, the request was
	// itself a retry upstream, the deadline (or MaxDuration) left too
	// little time, or the method is not idempotent.
	BudgetStops, CircuitStops, ChainStops, DeadlineStops, IdempotencyStops int64
	// Fallbacks is the calls whose failure went to a fallback.
	Fallbacks int64
}

// Stats returns the counters of every target service and method.
func (r *Retryer) Stats() Stats {
	var st Stats
	for _, s := range *r.states.Load() {
		st.add(s)
	}
	return st
}

// MethodStats returns the counters of one target service and method.
func (r *Retryer) MethodStats(service, method string) Stats {
	var st Stats
	if s := (*r.states.Load())[stateKey{service, method}]; s != nil {
		st.add(s)
	}
	return st
}

func (st *Stats) add(s *methodState) {
	st.Calls += s.calls.Load()
	st.Retries += s.retries.Load()
	st.Hedges += s.hedges.Load()
	st.UnsentRetries += s.unsent.Load()
	st.BudgetStops += s.budgetStops.Load()
	st.CircuitStops += s.circuitStops.Load()
	st.ChainStops += s.chainStops.Load()
	st.DeadlineStops += s.deadlineStops.Load()
	st.IdempotencyStops += s.idempotencyStops.Load()
	st.Fallbacks += s.fallbackRuns.Load()
	st.Attempts = st.Calls + st.Retries + st.Hedges
}

// Per-call options.
var (
	policyKey   = callinfo.NewKey[*policy]("retry.policy")
	namedKey    = callinfo.NewKey[string]("retry.policy_name")
	fallbackKey = callinfo.NewKey[Fallback]("retry.fallback")
	reportKey   = callinfo.NewKey[*Report]("retry.report")
)

// WithPolicy is a per-call option: this call uses p instead of its
// method's policy.
func WithPolicy(p Policy) client.CallOption {
	return client.WithCallOption(policyKey, normalize(p))
}

// WithPolicyNamed is a per-call option: this call uses the policy the
// Retryer holds under name (installed with WithMethodPolicy or SetPolicy
// under any name, not only a method's), looked up when the call starts,
// so SetPolicy(name, ...) changes it for the calls that start afterwards.
// Without such a policy the call uses its method's.
func WithPolicyNamed(name string) client.CallOption {
	return client.WithCallOption(namedKey, name)
}

// WithoutRetry is a per-call option: this call makes one attempt (the
// client still retries a request that found its pooled connection closed,
// transparently, on a fresh connection to the same address).
func WithoutRetry() client.CallOption {
	return client.WithCallOption(policyKey, normalize(Policy{MaxAttempts: 1}))
}

// WithCallFallback is a per-call option: this call's failure goes to f
// instead of the Retryer's fallback.
func WithCallFallback(f Fallback) client.CallOption {
	return client.WithCallOption(fallbackKey, f)
}
