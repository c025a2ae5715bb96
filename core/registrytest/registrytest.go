package registrytest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/status"
)

// DefaultSettle is how long Run waits, by default, for the resolver to
// show a change made through the registry.
const DefaultSettle = 10 * time.Second

// Params configures [Run].
type Params struct {
	// New returns a registry and a resolver over the same store (what the
	// registry registers, the resolver finds). Run calls it once per
	// check, from that check's subtest. It may return the same store each
	// time, and the store may hold other services: Run registers only
	// service names of its own, unique to each Run call
	// ("skiff-registrytest-<random>-<check>"), and deregisters what it
	// registered when each check ends. Required.
	New func(t *testing.T) (registry.Registry, discovery.Resolver)
	// Settle bounds how long Run polls the resolver for a change made
	// through the registry to show, for stores that are eventually
	// consistent; 0 means DefaultSettle. Run polls with a backoff from
	// 5 ms to 200 ms and moves on as soon as the expectation holds, so a
	// long Settle costs time only when a check fails.
	Settle time.Duration
}

// Run checks, in subtests of t, that the registry and resolver that
// p.New returns follow the [registry.Registry] and [registry.Info]
// contracts:
//
//   - Services: an Info with two services (ServiceName set to the first,
//     Weight 7, two Tags) makes each service resolve to exactly one
//     instance, whose Network and Address are Addr's Network and String,
//     whose Weight is 7 and whose Tag returns each of the Info's tags
//     (the instance may carry more tags). After Deregister, neither
//     service has an instance.
//   - ServiceNameOnly: an Info that sets ServiceName and leaves Services
//     empty registers that one service.
//   - TwoInstances: two instances of one service (different ports; one
//     with Weight 0, which resolves as [discovery.DefaultWeight], one
//     with Weight 3) both resolve; after one is deregistered only the
//     other resolves; after both are, none does.
//   - Reregister: registering the same Info twice leaves one instance;
//     registering it again with another Weight and Tags replaces that
//     instance (still one) with the new Weight and Tags; one Deregister
//     then removes it.
//   - Concurrent: 16 instances of one service registered from 16
//     goroutines at once all resolve; then 8 of them are deregistered
//     while 8 new ones are registered, all at once, and exactly the
//     remaining 16 resolve. Run the kit with -race for this check to
//     find data races.
//   - Watch, when the resolver is a [discovery.Watcher] (skipped
//     otherwise): a watch of a service sees, within Settle, one instance
//     registered, a second one, and the first one deregistered; update is
//     never called concurrently with itself for that watch; once stop has
//     returned, update is not called again (an instance registered after
//     stop goes unseen for Settle/4, at most one second).
//
// Deregister always gets a copy of the registered Info (another pointer,
// equal fields), so a registry must identify instances by value. A check
// that expects a set of instances polls the resolver until it returns
// exactly that set (each address once) or until p.Settle passes; resolve
// errors meanwhile are retried (the last one is reported on failure). A
// service with no instances may resolve either to a Result with no
// instances and a nil error, or to an error matching
// [status.ErrNoInstance]; any other error is not "no instances". The
// kit's checks of exact counts (Reregister) register a second instance
// after the one they count and wait until it shows, so they assume the
// resolver sees one goroutine's registry writes in the order they were
// made (as a single Consul agent or etcd cluster does).
//
// Every address is a 127.0.0.1 listener the kit opens on a free port and
// closes when the check ends; nothing connects to it.
func Run(t *testing.T, p Params) {
	t.Helper()
	if p.New == nil {
		t.Fatal("registrytest: Params.New is nil")
	}
	if p.Settle <= 0 {
		p.Settle = DefaultSettle
	}
	k := &kit{p: p, prefix: fmt.Sprintf("skiff-registrytest-%08x", rand.Uint32())}
	t.Run("Services", k.services)
	t.Run("ServiceNameOnly", k.serviceNameOnly)
	t.Run("TwoInstances", k.twoInstances)
	t.Run("Reregister", k.reregister)
	t.Run("Concurrent", k.concurrent)
	t.Run("Watch", k.watch)
}

type kit struct {
	p      Params
	prefix string
}

// check is the state of one check: its store, the instances it
// registered and the listeners behind their addresses.
type check struct {
	t     *testing.T
	k     *kit
	reg   registry.Registry
	res   discovery.Resolver
	name  string
	mu    sync.Mutex
	infos []*registry.Info
	lns   []net.Listener
}

func (k *kit) begin(t *testing.T, name string) *check {
	t.Helper()
	reg, res := k.p.New(t)
	if reg == nil || res == nil {
		t.Fatalf("Params.New returned registry %v and resolver %v", reg, res)
	}
	c := &check{t: t, k: k, reg: reg, res: res, name: name}
	t.Cleanup(c.cleanup)
	return c
}

// cleanup deregisters everything the check registered (errors ignored: it
// may be gone already) and closes its listeners.
func (c *check) cleanup() {
	c.mu.Lock()
	infos, lns := c.infos, c.lns
	c.mu.Unlock()
	for _, info := range infos {
		_ = c.reg.Deregister(clone(info))
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
}

// service returns the check's service name with suffix.
func (c *check) service(suffix string) string {
	return c.k.prefix + "-" + strings.ToLower(c.name) + "-" + suffix
}

// addr opens a 127.0.0.1 listener for the check and returns its address.
func (c *check) addr() net.Addr {
	c.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatalf("listen on 127.0.0.1: %v", err)
	}
	c.mu.Lock()
	c.lns = append(c.lns, ln)
	c.mu.Unlock()
	return ln.Addr()
}

// register calls Register; it may run on any goroutine.
func (c *check) register(info *registry.Info) error {
	c.mu.Lock()
	c.infos = append(c.infos, info)
	c.mu.Unlock()
	if err := c.reg.Register(info); err != nil {
		return fmt.Errorf("Register(%s): %w", describe(info), err)
	}
	return nil
}

// deregister calls Deregister with a copy of info; it may run on any
// goroutine.
func (c *check) deregister(info *registry.Info) error {
	if err := c.reg.Deregister(clone(info)); err != nil {
		return fmt.Errorf("Deregister(%s): %w", describe(info), err)
	}
	return nil
}

func (c *check) mustRegister(info *registry.Info) {
	c.t.Helper()
	if err := c.register(info); err != nil {
		c.t.Fatal(err)
	}
}

func (c *check) mustDeregister(info *registry.Info) {
	c.t.Helper()
	if err := c.deregister(info); err != nil {
		c.t.Fatal(err)
	}
}

// want is an instance the resolver must return.
type want struct {
	addr   net.Addr
	weight int // as registered: 0 means discovery.DefaultWeight
	tags   map[string]string
}

func wantOf(info *registry.Info) want { return want{info.Addr, info.Weight, info.Tags} }

// await polls the resolver until service resolves to exactly ws, or fails
// the test when Settle passes. what says what the check waits for.
func (c *check) await(what, service string, ws ...want) {
	c.t.Helper()
	deadline := time.Now().Add(c.k.p.Settle)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	backoff := 5 * time.Millisecond
	var last error
	for {
		res, err := c.res.Resolve(ctx, service)
		switch {
		case err == nil:
			last = match(res.Instances, ws)
		case len(ws) == 0 && errors.Is(err, status.ErrNoInstance):
			last = nil
		case ctx.Err() != nil && last != nil:
			// Out of time: keep the last answer, which says more.
		default:
			last = fmt.Errorf("Resolve: %w", err)
		}
		if last == nil {
			return
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			c.t.Fatalf("%s: service %q did not resolve to %s within %v: %v", what, service, describeWants(ws), c.k.p.Settle, last)
		}
		timer := time.NewTimer(min(backoff, wait))
		<-timer.C
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// match reports how got differs from ws, or nil.
func match(got []discovery.Instance, ws []want) error {
	for _, w := range ws {
		var found discovery.Instance
		n := 0
		for _, in := range got {
			if in.Address() == w.addr.String() {
				found = in
				n++
			}
		}
		switch {
		case n == 0:
			return fmt.Errorf("no instance at %s in %s", w.addr, describeInstances(got))
		case n > 1:
			return fmt.Errorf("address %s resolves %d times: %s", w.addr, n, describeInstances(got))
		}
		if found.Network() != w.addr.Network() {
			return fmt.Errorf("instance %s: Network() = %q, want %q", w.addr, found.Network(), w.addr.Network())
		}
		weight := w.weight
		if weight == 0 {
			weight = discovery.DefaultWeight
		}
		if found.Weight() != weight {
			return fmt.Errorf("instance %s: Weight() = %d, want %d", w.addr, found.Weight(), weight)
		}
		for k, v := range w.tags {
			if got, ok := found.Tag(k); !ok || got != v {
				return fmt.Errorf("instance %s: Tag(%q) = %q, %v; want %q, true", w.addr, k, got, ok, v)
			}
		}
	}
	if len(got) != len(ws) {
		return fmt.Errorf("got %d instances %s, want %d", len(got), describeInstances(got), len(ws))
	}
	return nil
}

func (k *kit) services(t *testing.T) {
	c := k.begin(t, "Services")
	a, b := c.service("a"), c.service("b")
	info := &registry.Info{ServiceName: a, Services: []string{a, b}, Addr: c.addr(), Weight: 7,
		Tags: map[string]string{"zone": "z1", "version": "v2"}}
	c.mustRegister(info)
	c.await("after Register", a, wantOf(info))
	c.await("after Register", b, wantOf(info))
	c.mustDeregister(info)
	c.await("after Deregister", a)
	c.await("after Deregister", b)
}

func (k *kit) serviceNameOnly(t *testing.T) {
	c := k.begin(t, "ServiceNameOnly")
	s := c.service("a")
	info := &registry.Info{ServiceName: s, Addr: c.addr(), Weight: 4}
	c.mustRegister(info)
	c.await("after Register of an Info with ServiceName only", s, wantOf(info))
	c.mustDeregister(info)
	c.await("after Deregister", s)
}

func (k *kit) twoInstances(t *testing.T) {
	c := k.begin(t, "TwoInstances")
	s := c.service("a")
	a := &registry.Info{ServiceName: s, Services: []string{s}, Addr: c.addr(), Tags: map[string]string{"i": "a"}}
	b := &registry.Info{ServiceName: s, Services: []string{s}, Addr: c.addr(), Weight: 3, Tags: map[string]string{"i": "b"}}
	c.mustRegister(a)
	c.mustRegister(b)
	c.await("after registering two instances", s, wantOf(a), wantOf(b))
	c.mustDeregister(a)
	c.await("after deregistering the first instance", s, wantOf(b))
	c.mustDeregister(b)
	c.await("after deregistering both instances", s)
}

func (k *kit) reregister(t *testing.T) {
	c := k.begin(t, "Reregister")
	s := c.service("a")
	a := &registry.Info{ServiceName: s, Services: []string{s}, Addr: c.addr(), Weight: 2, Tags: map[string]string{"gen": "1"}}
	marker := &registry.Info{ServiceName: s, Services: []string{s}, Addr: c.addr(), Weight: 1}
	c.mustRegister(a)
	c.mustRegister(clone(a))
	// The marker, registered last, shows the earlier writes have landed.
	c.mustRegister(marker)
	c.await("after registering the same Info twice (and a second instance)", s, wantOf(a), wantOf(marker))
	a2 := clone(a)
	a2.Weight, a2.Tags = 5, map[string]string{"gen": "2", "extra": "x"}
	c.mustRegister(a2)
	c.await("after registering the Info again with a new Weight and Tags", s, wantOf(a2), wantOf(marker))
	c.mustDeregister(a)
	c.await("after one Deregister of the instance registered three times", s, wantOf(marker))
}

func (k *kit) concurrent(t *testing.T) {
	c := k.begin(t, "Concurrent")
	s := c.service("a")
	const n = 16
	infos := make([]*registry.Info, n+n/2)
	for i := range infos {
		infos[i] = &registry.Info{ServiceName: s, Services: []string{s}, Addr: c.addr(), Weight: 1 + i%5,
			Tags: map[string]string{"i": fmt.Sprint(i)}}
	}
	wants := func(infos []*registry.Info) []want {
		ws := make([]want, len(infos))
		for i, info := range infos {
			ws[i] = wantOf(info)
		}
		return ws
	}
	parallel(t, n, func(i int) error { return c.register(infos[i]) })
	c.await("after registering 16 instances at once", s, wants(infos[:n])...)
	parallel(t, n, func(i int) error {
		if i < n/2 {
			return c.deregister(infos[i])
		}
		return c.register(infos[i+n/2])
	})
	c.await("after deregistering 8 instances while registering 8 others", s, wants(infos[n/2:])...)
}

// parallel runs f(0) to f(n-1) at once and fails t with their errors.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = f(i)
		}()
	}
	start.Done()
	done.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func clone(info *registry.Info) *registry.Info {
	c := *info
	c.Services = append([]string(nil), info.Services...)
	if info.Tags != nil {
		c.Tags = maps.Clone(info.Tags)
	}
	return &c
}

func describe(info *registry.Info) string {
	return fmt.Sprintf("services %q at %v, weight %d, tags %v", info.ServiceNames(), info.Addr, info.Weight, info.Tags)
}

func describeWants(ws []want) string {
	if len(ws) == 0 {
		return "no instances"
	}
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = w.addr.String()
	}
	return "exactly " + strings.Join(s, ", ")
}

func describeInstances(ins []discovery.Instance) string {
	s := make([]string, len(ins))
	for i, in := range ins {
		s[i] = fmt.Sprintf("%s://%s(weight %d)", in.Network(), in.Address(), in.Weight())
	}
	return "[" + strings.Join(s, " ") + "]"
}

// watch checks the discovery.Watcher contract.
func (k *kit) watch(t *testing.T) {
	c := k.begin(t, "Watch")
	w, ok := c.res.(discovery.Watcher)
	if !ok {
		t.Skip("the resolver is not a discovery.Watcher")
	}
	s := c.service("a")
	var (
		mu        sync.Mutex
		last      *discovery.Result
		calls     int
		inFlight  atomic.Int32
		overlap   atomic.Bool
		stopped   atomic.Bool
		afterStop atomic.Int32
	)
	stop, err := w.Watch(s, func(r discovery.Result) {
		if inFlight.Add(1) > 1 {
			overlap.Store(true)
		}
		defer inFlight.Add(-1)
		if stopped.Load() {
			afterStop.Add(1)
		}
		mu.Lock()
		last, calls = &r, calls+1
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	stopOnce := sync.OnceFunc(stop)
	t.Cleanup(stopOnce)
	await := func(what string, ws ...want) {
		t.Helper()
		deadline := time.Now().Add(k.p.Settle)
		for {
			mu.Lock()
			var got error = errors.New("no update yet")
			if last != nil {
				got = match(last.Instances, ws)
			}
			mu.Unlock()
			if got == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the watch of %q did not show %s within %v: %v", what, s, describeWants(ws), k.p.Settle, got)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	a := &registry.Info{ServiceName: s, Services: []string{s}, Addr: c.addr(), Weight: 2}
	b := &registry.Info{ServiceName: s, Services: []string{s}, Addr: c.addr(), Weight: 3}
	c.mustRegister(a)
	await("after Register", wantOf(a))
	c.mustRegister(b)
	await("after registering a second instance", wantOf(a), wantOf(b))
	c.mustDeregister(a)
	await("after deregistering the first instance", wantOf(b))
	stopOnce()
	stopped.Store(true)
	c.mustRegister(&registry.Info{ServiceName: s, Services: []string{s}, Addr: c.addr(), Weight: 4})
	time.Sleep(min(k.p.Settle/4, time.Second))
	if n := afterStop.Load(); n > 0 {
		t.Errorf("update called %d times after stop returned", n)
	}
	if overlap.Load() {
		t.Error("update called concurrently with itself for one watch")
	}
}
