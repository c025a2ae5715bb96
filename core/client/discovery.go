package client

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/status"
)

// DefaultDiscoveryRefresh is how often a client re-resolves, in the
// background, a service whose resolver cannot push changes (one that is
// not a discovery.Watcher), unless WithDiscoveryRefresh says otherwise.
const DefaultDiscoveryRefresh = 5 * time.Second

// firstResultWait bounds how long the first call of a service waits for a
// watching resolver's first update when its context has no deadline.
const firstResultWait = 5 * time.Second

type targetKey struct {
	r       any // the resolver, or a unique pointer when its type is not comparable
	service string
}

// targets are the services being resolved, shared by the clients that use
// the same resolver for the same service.
var targets struct {
	mu sync.Mutex
	m  map[targetKey]*target
}

// target is one resolver's view of one service: the current instance set,
// kept up to date by a watch or a refresh loop, and the clients to tell.
type target struct {
	key     targetKey
	r       discovery.Resolver
	service string
	refresh time.Duration

	startOnce sync.Once
	ready     chan struct{} // closed at the first result

	umu  sync.Mutex // serialises updates
	mu   sync.Mutex
	refs int
	res  discovery.Result
	have bool
	subs map[*subscription]struct{}
	stop func() // ends the watch or the refresh loop
}

// subscription is one client's interest in a target.
type subscription struct {
	t        *target
	onChange func(discovery.Change)
}

// subscribe returns a subscription of onChange to the instances of service
// from r, sharing the watch with other clients of the same r and service.
// It does not resolve yet: the first call does (ensure).
func subscribe(r discovery.Resolver, service string, refresh time.Duration, onChange func(discovery.Change)) *subscription {
	var k targetKey
	if t := reflect.TypeOf(r); t != nil && t.Comparable() {
		k = targetKey{r: r, service: service}
	} else {
		k = targetKey{r: new(int), service: service}
	}
	targets.mu.Lock()
	if targets.m == nil {
		targets.m = map[targetKey]*target{}
	}
	t := targets.m[k]
	if t == nil {
		t = &target{key: k, r: r, service: service, refresh: refresh, ready: make(chan struct{}),
			subs: map[*subscription]struct{}{}}
		targets.m[k] = t
	}
	sub := &subscription{t: t, onChange: onChange}
	t.mu.Lock()
	t.refs++
	t.subs[sub] = struct{}{}
	res, have := t.res, t.have
	t.mu.Unlock()
	targets.mu.Unlock()
	if have {
		onChange(discovery.Diff(discovery.Result{}, res))
	}
	return sub
}

// close ends the subscription; the last one stops the target's watch.
func (s *subscription) close() {
	t := s.t
	targets.mu.Lock()
	t.mu.Lock()
	delete(t.subs, s)
	t.refs--
	last := t.refs == 0
	stop := t.stop
	if last {
		t.stop = nil
		delete(targets.m, t.key)
	}
	t.mu.Unlock()
	targets.mu.Unlock()
	if last && stop != nil {
		stop()
	}
}

// ensure makes sure the target has a first result: it starts the watch or
// the refresh loop, then resolves once (a pull resolver) or waits for the
// first update (a watcher), bounded by ctx.
func (t *target) ensure(ctx context.Context) error {
	t.startOnce.Do(t.start)
	select {
	case <-t.ready:
		return nil
	default:
	}
	if _, ok := t.r.(discovery.Watcher); ok {
		wait := ctx
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			wait, cancel = context.WithTimeout(ctx, firstResultWait)
			defer cancel()
		}
		select {
		case <-t.ready:
			return nil
		case <-wait.Done():
			return status.Wrap(status.ErrNoInstance, "no instances of "+t.service+" from resolver "+t.r.Name()+" yet", wait.Err())
		}
	}
	res, err := t.r.Resolve(ctx, t.service)
	if err != nil {
		return status.Wrap(status.ErrNoInstance, "resolve "+t.service, err)
	}
	t.update(res)
	return nil
}

// start begins watching (a Watcher) or the background refresh loop.
func (t *target) start() {
	if w, ok := t.r.(discovery.Watcher); ok {
		stop, err := w.Watch(t.service, t.update)
		if err != nil {
			return // calls keep failing with no instance; a later client retries
		}
		t.setStop(stop)
		return
	}
	done := make(chan struct{})
	var once sync.Once
	t.setStop(func() { once.Do(func() { close(done) }) })
	go t.refreshLoop(done)
}

// setStop records the function that ends the watch, or runs it at once if
// the last client has already gone.
func (t *target) setStop(stop func()) {
	t.mu.Lock()
	if t.refs == 0 {
		t.mu.Unlock()
		stop()
		return
	}
	t.stop = stop
	t.mu.Unlock()
}

// refreshLoop re-resolves the service every refresh interval until done.
// A failed resolve keeps the last good instance set.
func (t *target) refreshLoop(done chan struct{}) {
	tick := time.NewTicker(t.refresh)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), t.refresh)
		res, err := t.r.Resolve(ctx, t.service)
		cancel()
		if err == nil {
			t.update(res)
		}
	}
}

// update takes a new instance set and tells the subscribers what changed.
func (t *target) update(res discovery.Result) {
	t.umu.Lock()
	defer t.umu.Unlock()
	t.mu.Lock()
	ch := discovery.Diff(t.res, res)
	first := !t.have
	t.res, t.have = res, true
	subs := make([]*subscription, 0, len(t.subs))
	for s := range t.subs {
		subs = append(subs, s)
	}
	t.mu.Unlock()
	if first || !ch.Empty() {
		for _, s := range subs {
			s.onChange(ch)
		}
	}
	if first {
		close(t.ready)
	}
}

// onChange rebuilds the client's picker for a new instance set and closes
// the connections of removed instances.
func (c *Client) onChange(ch discovery.Change) {
	if co, ok := c.opts.balancer.(loadbalance.ChangeObserver); ok {
		co.OnChange(c.svc.Name, ch)
	}
	c.picker.Store(&pickerEntry{picker: c.opts.balancer.Picker(ch.Result)})
	for _, in := range ch.Removed {
		c.closeAddr(in.Address())
	}
}

// closeAddr closes the pooled connections to addr, an instance that left.
func (c *Client) closeAddr(addr string) {
	switch {
	case c.spool != nil:
		c.spool.closeAddr(addr)
	case c.mux != nil:
		c.mux.closeAddr(addr)
	case c.pool != nil:
		c.pool.closeAddr(addr)
	}
}
