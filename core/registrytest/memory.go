package registrytest

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"sync"

	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/registry"
)

// Memory is an in-memory service registry: a [registry.Registry] and the
// [discovery.Resolver] over it. Its zero value is not usable; create it
// with [NewMemory]. A Memory is safe for concurrent use.
//
// Register adds or replaces, under each of info.ServiceNames, the
// instance identified by info.Addr's Network and String, with
// info.Weight (0 resolves as discovery.DefaultWeight) and a copy of
// info.Tags; it fails for a nil info, an info without service names, or
// without Addr. Deregister removes those instances; deregistering an
// instance that is not registered is not an error. Resolve returns the
// instances of a service in the order they were first registered, and a
// Result with no instances (and no error) for a service that has none.
// Results are cacheable: their Key changes whenever the service's
// instances do.
type Memory struct {
	mu       sync.Mutex
	version  uint64
	services map[string]*memService
	watches  map[string]map[*memWatch]struct{} // see Watching
}

type memService struct {
	key       string
	instances []discovery.Instance // replaced, never modified, on change
}

var (
	_ registry.Registry  = (*Memory)(nil)
	_ discovery.Resolver = (*Memory)(nil)
)

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{services: map[string]*memService{}} }

func checkInfo(info *registry.Info) error {
	switch {
	case info == nil:
		return errors.New("registrytest: nil registry.Info")
	case len(info.ServiceNames()) == 0:
		return errors.New("registrytest: registry.Info without service names")
	case info.Addr == nil:
		return errors.New("registrytest: registry.Info without Addr")
	}
	return nil
}

// Register implements registry.Registry.
func (m *Memory) Register(info *registry.Info) error {
	if err := checkInfo(info); err != nil {
		return err
	}
	var tags map[string]string
	if info.Tags != nil {
		tags = maps.Clone(info.Tags)
	}
	in := discovery.NewInstance(info.Addr.Network(), info.Addr.String(), info.Weight, tags)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range info.ServiceNames() {
		old := m.services[name]
		var ins []discovery.Instance
		replaced := false
		if old != nil {
			ins = make([]discovery.Instance, 0, len(old.instances)+1)
			for _, o := range old.instances {
				if same(o, in) {
					o, replaced = in, true
				}
				ins = append(ins, o)
			}
		}
		if !replaced {
			ins = append(ins, in)
		}
		m.set(name, ins)
	}
	return nil
}

// Deregister implements registry.Registry.
func (m *Memory) Deregister(info *registry.Info) error {
	if err := checkInfo(info); err != nil {
		return err
	}
	in := discovery.NewInstance(info.Addr.Network(), info.Addr.String(), 0, nil)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range info.ServiceNames() {
		old := m.services[name]
		if old == nil {
			continue
		}
		ins := make([]discovery.Instance, 0, len(old.instances))
		for _, o := range old.instances {
			if !same(o, in) {
				ins = append(ins, o)
			}
		}
		if len(ins) == len(old.instances) {
			continue
		}
		if len(ins) == 0 {
			delete(m.services, name)
			m.notifyLocked(name)
			continue
		}
		m.set(name, ins)
	}
	return nil
}

// set stores the instances of a service under a new key. Called with m.mu
// held.
func (m *Memory) set(name string, ins []discovery.Instance) {
	m.version++
	m.services[name] = &memService{key: "memory:" + name + "#" + strconv.FormatUint(m.version, 10), instances: ins}
	m.notifyLocked(name)
}

func same(a, b discovery.Instance) bool {
	return a.Network() == b.Network() && a.Address() == b.Address()
}

// Name implements discovery.Resolver; it is "memory".
func (m *Memory) Name() string { return "memory" }

// Resolve implements discovery.Resolver. It fails only when ctx is done.
func (m *Memory) Resolve(ctx context.Context, service string) (discovery.Result, error) {
	if err := ctx.Err(); err != nil {
		return discovery.Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.resultLocked(service), nil
}
