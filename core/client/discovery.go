package client

import (
	"context"
	"errors"
	"reflect"
	"strconv"
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

	ready chan struct{} // closed at the first result

	umu  sync.Mutex // serialises updates
	mu   sync.Mutex
	refs int
	res  discovery.Result
	have bool
	subs map[*subscription]struct{}
	stop func() // ends the watch or the refresh loop

	started  bool  // a watch or the refresh loop runs; guarded by mu
	watching bool  // it is a watch (the resolver pushes)
	watchErr error // the last Watch failure; the target is polled meanwhile
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
	if v := reflect.ValueOf(r); v.IsValid() && v.Comparable() {
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
	t.mu.Unlock()
	targets.mu.Unlock()
	// Join under the update lock, so no newer update is delivered before
	// this first one.
	t.umu.Lock()
	t.mu.Lock()
	t.subs[sub] = struct{}{}
	res, have := t.res, t.have
	t.mu.Unlock()
	if have {
		onChange(discovery.Diff(discovery.Result{}, res))
	}
	t.umu.Unlock()
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
// the refresh loop, then resolves once (a pull resolver, or a watcher whose
// Watch failed) or waits for the first update (a watcher), bounded by ctx.
func (t *target) ensure(ctx context.Context) error {
	watching := t.start()
	select {
	case <-t.ready:
		return nil
	default:
	}
	if watching {
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
		t.mu.Lock()
		werr := t.watchErr
		t.mu.Unlock()
		if werr != nil {
			err = errors.Join(err, werr)
		}
		return status.Wrap(status.ErrNoInstance, "resolve "+t.service, err)
	}
	t.update(res)
	return nil
}

// start begins watching (a Watcher) or the background refresh loop, once,
// and reports whether the target is watched. A failed Watch is tried again
// by the refresh loop, which polls Resolve meanwhile.
func (t *target) start() (watching bool) {
	t.mu.Lock()
	if t.started {
		watching = t.watching
		t.mu.Unlock()
		return watching
	}
	t.started = true
	t.mu.Unlock()
	if w, ok := t.r.(discovery.Watcher); ok {
		stop, err := w.Watch(t.service, t.update)
		if err == nil {
			t.mu.Lock()
			t.watching = true
			t.mu.Unlock()
			t.setStop(stop)
			return true
		}
		t.mu.Lock()
		t.watchErr = err
		t.mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	t.setStop(func() { cancel(); <-exited })
	go t.refreshLoop(ctx, exited)
	return false
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

// refreshLoop re-resolves the service every refresh interval until ctx
// ends, then closes exited. A failed resolve keeps the last good instance
// set. For a watcher whose Watch failed, each round tries Watch again first
// and the loop ends once it succeeds.
func (t *target) refreshLoop(ctx context.Context, exited chan struct{}) {
	defer close(exited)
	tick := time.NewTicker(t.refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if w, ok := t.r.(discovery.Watcher); ok {
			if stop, err := w.Watch(t.service, t.update); err == nil {
				t.mu.Lock()
				t.watching, t.watchErr = true, nil
				t.stop = stop // replaces this loop's stop: the loop ends now
				gone := t.refs == 0
				t.mu.Unlock()
				if gone {
					stop()
				}
				return
			}
		}
		rctx, cancel := context.WithTimeout(ctx, t.refresh)
		res, err := t.r.Resolve(rctx, t.service)
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
	c.picker.Store(newPickerEntry(c.opts.balancer.Picker(ch.Result), len(ch.Result.Instances)))
	if c.opts.diag != nil {
		c.opts.diag.Record("client/"+c.svc.Name, "discovery change", "instances", strconv.Itoa(len(ch.Result.Instances)),
			"added", strconv.Itoa(len(ch.Added)), "updated", strconv.Itoa(len(ch.Updated)), "removed", strconv.Itoa(len(ch.Removed)))
	}
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
		if c.auto != nil {
			// Whatever comes back at addr is asked again.
			c.upgraded.Delete(addr)
			c.auto.closeAddr(addr)
		}
	}
}
