package registrytest

import (
	"context"
	"sync"

	"github.com/skiffrpc/skiff/core/discovery"
)

// Watching returns a view of m that also implements [discovery.Watcher]:
// Watch pushes a service's instance set at once and after every change
// Register and Deregister make, on a goroutine of its own per watch (so
// update never runs concurrently with itself, and never after stop
// returns). stop must not be called from inside update. Resolve and Name
// are m's.
func (m *Memory) Watching() discovery.Watcher { return watching{m} }

type watching struct{ m *Memory }

var _ discovery.Watcher = watching{}

func (w watching) Name() string { return w.m.Name() }

func (w watching) Resolve(ctx context.Context, service string) (discovery.Result, error) {
	return w.m.Resolve(ctx, service)
}

// memWatch delivers the latest result of one service to one update func.
type memWatch struct {
	service string
	update  func(discovery.Result)
	mu      sync.Mutex
	pending *discovery.Result // the newest result not delivered yet
	wake    chan struct{}     // capacity 1: a result is pending
	stop    chan struct{}
	done    chan struct{}
}

func (w watching) Watch(service string, update func(discovery.Result)) (func(), error) {
	mw := &memWatch{service: service, update: update, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	m := w.m
	m.mu.Lock()
	if m.watches == nil {
		m.watches = map[string]map[*memWatch]struct{}{}
	}
	if m.watches[service] == nil {
		m.watches[service] = map[*memWatch]struct{}{}
	}
	m.watches[service][mw] = struct{}{}
	mw.push(m.resultLocked(service))
	m.mu.Unlock()
	go mw.run()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			delete(m.watches[service], mw)
			m.mu.Unlock()
			close(mw.stop)
			<-mw.done
		})
	}, nil
}

func (mw *memWatch) push(res discovery.Result) {
	mw.mu.Lock()
	mw.pending = &res
	mw.mu.Unlock()
	select {
	case mw.wake <- struct{}{}:
	default:
	}
}

func (mw *memWatch) run() {
	defer close(mw.done)
	for {
		select {
		case <-mw.stop:
			return
		case <-mw.wake:
		}
		mw.mu.Lock()
		res := mw.pending
		mw.pending = nil
		mw.mu.Unlock()
		if res == nil {
			continue
		}
		select {
		case <-mw.stop:
			return
		default:
		}
		mw.update(*res)
	}
}

// notifyLocked pushes the new instance set of service to its watches.
// Called with m.mu held.
func (m *Memory) notifyLocked(service string) {
	if len(m.watches[service]) == 0 {
		return
	}
	res := m.resultLocked(service)
	for mw := range m.watches[service] {
		mw.push(res)
	}
}

// resultLocked is what Resolve returns for service. Called with m.mu held.
func (m *Memory) resultLocked(service string) discovery.Result {
	svc := m.services[service]
	if svc == nil {
		return discovery.Result{}
	}
	return discovery.Result{Cacheable: true, Key: svc.key, Instances: svc.instances}
}
