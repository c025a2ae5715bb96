package registrytest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/registrytest"
	"github.com/skiffrpc/skiff/core/status"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

func memory(*testing.T) (registry.Registry, discovery.Resolver) {
	m := registrytest.NewMemory()
	return m, m
}

func TestRunMemory(t *testing.T) {
	registrytest.Run(t, registrytest.Params{New: memory})
}

// One store shared by every check, as a real registry server is.
func TestRunMemoryShared(t *testing.T) {
	m := registrytest.NewMemory()
	shared := func(*testing.T) (registry.Registry, discovery.Resolver) { return m, m }
	registrytest.Run(t, registrytest.Params{New: shared})
	registrytest.Run(t, registrytest.Params{New: shared})
}

// eventual applies registry writes to the store it resolves from only
// lag after they were made, in order, as an eventually consistent store.
type eventual struct {
	mem *registrytest.Memory
	lag time.Duration
	mu  sync.Mutex
	ops []op
}

type op struct {
	at         time.Time
	deregister bool
	info       *registry.Info
}

func (e *eventual) Register(info *registry.Info) error   { return e.push(false, info) }
func (e *eventual) Deregister(info *registry.Info) error { return e.push(true, info) }

func (e *eventual) push(dereg bool, info *registry.Info) error {
	c := *info
	c.Services = append([]string(nil), info.Services...)
	e.mu.Lock()
	e.ops = append(e.ops, op{time.Now(), dereg, &c})
	e.mu.Unlock()
	return nil
}

func (e *eventual) Name() string { return "eventual" }

func (e *eventual) Resolve(ctx context.Context, svc string) (discovery.Result, error) {
	e.mu.Lock()
	for len(e.ops) > 0 && time.Since(e.ops[0].at) >= e.lag {
		o := e.ops[0]
		e.ops = e.ops[1:]
		if o.deregister {
			_ = e.mem.Deregister(o.info)
		} else {
			_ = e.mem.Register(o.info)
		}
	}
	e.mu.Unlock()
	return e.mem.Resolve(ctx, svc)
}

func TestRunEventuallyConsistent(t *testing.T) {
	registrytest.Run(t, registrytest.Params{New: func(*testing.T) (registry.Registry, discovery.Resolver) {
		e := &eventual{mem: registrytest.NewMemory(), lag: 50 * time.Millisecond}
		return e, e
	}, Settle: 5 * time.Second})
}

// noInstanceErr reports an unknown service with an error matching
// status.ErrNoInstance, which the kit accepts as "no instances".
type noInstanceErr struct{ *registrytest.Memory }

func (r noInstanceErr) Resolve(ctx context.Context, svc string) (discovery.Result, error) {
	res, err := r.Memory.Resolve(ctx, svc)
	if err == nil && len(res.Instances) == 0 {
		return res, status.Wrap(status.ErrNoInstance, "unknown service "+svc, nil)
	}
	return res, err
}

func TestRunNoInstanceError(t *testing.T) {
	registrytest.Run(t, registrytest.Params{New: func(*testing.T) (registry.Registry, discovery.Resolver) {
		r := noInstanceErr{registrytest.NewMemory()}
		return r, r
	}})
}

// Broken registries, each caught by the kit.

// firstOnly registers ServiceName only.
type firstOnly struct{ *registrytest.Memory }

func (r firstOnly) Register(info *registry.Info) error {
	c := *info
	c.Services = nil
	return r.Memory.Register(&c)
}

// noWeight drops the weight.
type noWeight struct{ *registrytest.Memory }

func (r noWeight) Register(info *registry.Info) error {
	c := *info
	c.Weight = 0
	return r.Memory.Register(&c)
}

// noTags drops the tags.
type noTags struct{ *registrytest.Memory }

func (r noTags) Register(info *registry.Info) error {
	c := *info
	c.Tags = nil
	return r.Memory.Register(&c)
}

// byPointer deregisters only the Info pointers it registered.
type byPointer struct {
	*registrytest.Memory
	mu   sync.Mutex
	seen map[*registry.Info]bool
}

func (r *byPointer) Register(info *registry.Info) error {
	r.mu.Lock()
	r.seen[info] = true
	r.mu.Unlock()
	return r.Memory.Register(info)
}

func (r *byPointer) Deregister(info *registry.Info) error {
	r.mu.Lock()
	ok := r.seen[info]
	r.mu.Unlock()
	if !ok {
		return nil
	}
	return r.Memory.Deregister(info)
}

// duplicates adds an instance on every Register, so registering twice
// shows two.
type duplicates struct {
	mu  sync.Mutex
	ins map[string][]discovery.Instance
}

func (r *duplicates) Register(info *registry.Info) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range info.ServiceNames() {
		r.ins[s] = append(r.ins[s], discovery.NewInstance(info.Addr.Network(), info.Addr.String(), info.Weight, info.Tags))
	}
	return nil
}

func (r *duplicates) Deregister(info *registry.Info) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range info.ServiceNames() {
		var keep []discovery.Instance
		for _, in := range r.ins[s] {
			if in.Address() != info.Addr.String() {
				keep = append(keep, in)
			}
		}
		r.ins[s] = keep
	}
	return nil
}

func (r *duplicates) Name() string { return "duplicates" }

func (r *duplicates) Resolve(_ context.Context, svc string) (discovery.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return discovery.Result{Instances: append([]discovery.Instance(nil), r.ins[svc]...)}, nil
}

// otherErr fails to resolve a service with no instances with an error
// that does not say "no instance".
type otherErr struct{ *registrytest.Memory }

func (r otherErr) Resolve(ctx context.Context, svc string) (discovery.Result, error) {
	res, err := r.Memory.Resolve(ctx, svc)
	if err == nil && len(res.Instances) == 0 {
		return res, errors.New("store unreachable")
	}
	return res, err
}

// Watching stores: the Memory's watching view.
func TestRunMemoryWatching(t *testing.T) {
	registrytest.Run(t, registrytest.Params{New: func(*testing.T) (registry.Registry, discovery.Resolver) {
		m := registrytest.NewMemory()
		return m, m.Watching()
	}})
}

// ignoresStop is a watcher whose stop does not stop its updates.
type ignoresStop struct{ *registrytest.Memory }

func (r ignoresStop) Watch(svc string, update func(discovery.Result)) (func(), error) {
	_, err := r.Memory.Watching().Watch(svc, update) // the real stop is dropped: updates go on
	return func() {}, err
}

// deaf is a watcher that never calls update.
type deaf struct{ *registrytest.Memory }

func (deaf) Watch(string, func(discovery.Result)) (func(), error) { return func() {}, nil }

type store interface {
	registry.Registry
	discovery.Resolver
}

var broken = map[string]struct {
	new  func() store
	want []string
}{
	"firstOnly":   {func() store { return firstOnly{registrytest.NewMemory()} }, []string{"--- FAIL: TestBrokenRegistry/Services", "-services-b"}},
	"noWeight":    {func() store { return noWeight{registrytest.NewMemory()} }, []string{"--- FAIL: TestBrokenRegistry/Services", "Weight() = 10, want 7"}},
	"noTags":      {func() store { return noTags{registrytest.NewMemory()} }, []string{"--- FAIL: TestBrokenRegistry/Services", `Tag("`}},
	"byPointer":   {func() store { return &byPointer{Memory: registrytest.NewMemory(), seen: map[*registry.Info]bool{}} }, []string{"--- FAIL: TestBrokenRegistry/TwoInstances", "after deregistering the first instance"}},
	"duplicates":  {func() store { return &duplicates{ins: map[string][]discovery.Instance{}} }, []string{"--- FAIL: TestBrokenRegistry/Reregister", "resolves 2 times"}},
	"otherErr":    {func() store { return otherErr{registrytest.NewMemory()} }, []string{"--- FAIL: TestBrokenRegistry/Services", "store unreachable"}},
	"ignoresStop": {func() store { return ignoresStop{registrytest.NewMemory()} }, []string{"--- FAIL: TestBrokenRegistry/Watch", "after stop returned"}},
	"deaf":        {func() store { return deaf{registrytest.NewMemory()} }, []string{"--- FAIL: TestBrokenRegistry/Watch", "did not show"}},
}

const brokenEnv = "REGISTRYTEST_BROKEN"

// TestBrokenRegistry runs Run on one broken registry in a child process.
func TestBrokenRegistry(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("run by TestRunFailsOnBrokenRegistries")
	}
	registrytest.Run(t, registrytest.Params{New: func(*testing.T) (registry.Registry, discovery.Resolver) {
		s := broken[name].new()
		return s, s
	}, Settle: 200 * time.Millisecond})
}

func TestRunFailsOnBrokenRegistries(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("child process")
	}
	for name, bc := range broken {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenRegistry$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("Run passed a broken registry:\n%s", out)
			}
			for _, w := range bc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("Run's failure does not mention %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestMemoryRejectsIncompleteInfo(t *testing.T) {
	m := registrytest.NewMemory()
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	for name, info := range map[string]*registry.Info{
		"nil":        nil,
		"no service": {Addr: addr},
		"no addr":    {ServiceName: "s"},
	} {
		if err := m.Register(info); err == nil {
			t.Errorf("Register(%s) succeeded", name)
		}
		if err := m.Deregister(info); err == nil {
			t.Errorf("Deregister(%s) succeeded", name)
		}
	}
	// Deregistering what was never registered is not an error.
	if err := m.Deregister(&registry.Info{ServiceName: "s", Addr: addr}); err != nil {
		t.Errorf("Deregister of an unknown instance: %v", err)
	}
}

// Results are cacheable, and their key changes with the instance set.
func TestMemoryResultKeys(t *testing.T) {
	m := registrytest.NewMemory()
	ctx := context.Background()
	a := &registry.Info{ServiceName: "s", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9001}}
	b := &registry.Info{ServiceName: "s", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9002}}
	var keys []string
	for _, step := range []func() error{
		func() error { return m.Register(a) },
		func() error { return m.Register(b) },
		func() error { return m.Deregister(a) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		res, err := m.Resolve(ctx, "s")
		if err != nil || !res.Cacheable || res.Key == "" {
			t.Fatalf("Resolve = %+v, %v; want a cacheable result", res, err)
		}
		again, _ := m.Resolve(ctx, "s")
		if again.Key != res.Key {
			t.Errorf("key changed without a change: %q then %q", res.Key, again.Key)
		}
		for _, k := range keys {
			if k == res.Key {
				t.Errorf("key %q reused for another instance set", k)
			}
		}
		keys = append(keys, res.Key)
	}
}

func ExampleMemory() {
	m := registrytest.NewMemory()
	// What a server passes to the registry (server.WithRegistry(m, nil)).
	info := &registry.Info{
		ServiceName: "EchoService",
		Services:    []string{"EchoService", "HealthService"},
		Addr:        &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8888},
		Tags:        map[string]string{"zone": "a"},
	}
	if err := m.Register(info); err != nil {
		panic(err)
	}
	// What a client resolves (client.WithResolver(m)).
	res, _ := m.Resolve(context.Background(), "HealthService")
	for _, in := range res.Instances {
		zone, _ := in.Tag("zone")
		fmt.Println(in.Network(), in.Address(), in.Weight(), zone)
	}
	_ = m.Deregister(info)
	res, _ = m.Resolve(context.Background(), "EchoService")
	fmt.Println(len(res.Instances), "instances after Deregister")
	// Output:
	// tcp 127.0.0.1:8888 10 a
	// 0 instances after Deregister
}
