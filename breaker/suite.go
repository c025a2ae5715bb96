package breaker

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/client"
)

// Level says which of a suite's two kinds of breakers an event or a
// counter is about.
type Level uint8

// The breaker levels.
const (
	// LevelService: one breaker per (caller, callee service, method),
	// in the client middleware.
	LevelService Level = iota
	// LevelInstance: one breaker per instance address, in the balancer.
	LevelInstance
)

// String returns "service" or "instance".
func (l Level) String() string {
	if l == LevelInstance {
		return "instance"
	}
	return "service"
}

// ServiceKey names a service-level breaker.
type ServiceKey struct {
	// Caller is the calling service (client.WithCaller, or the service
	// whose handler makes the call); may be empty.
	Caller string
	// Service is the callee service and Method the method called.
	Service, Method string
}

// String returns "caller/service/method".
func (k ServiceKey) String() string { return k.Caller + "/" + k.Service + "/" + k.Method }

// Event is a breaker's change of state.
type Event struct {
	Level Level
	// Key is the breaker's key: ServiceKey.String() for the service
	// level, the instance address for the instance level.
	Key      string
	From, To State
	// Time is when the change happened.
	Time time.Time
}

// Stats are a suite's counters for one level, since it was made.
type Stats struct {
	// Opened, HalfOpened and Closed count the state changes into each
	// state.
	Opened, HalfOpened, Closed uint64
	// Rejected counts calls refused with an error matching
	// status.ErrCircuitOpen: at the service level calls whose breaker was
	// open, at the instance level picks that found every instance open.
	Rejected uint64
	// Skipped counts instances the balancer passed over because their
	// breaker was open (instance level only).
	Skipped uint64
}

type levelStats struct {
	opened, halfOpened, closed, rejected, skipped atomic.Uint64
}

// Suite holds the circuit breakers of the clients it is given to: a
// service-level breaker per (caller, callee service, method), applied by
// a client middleware, and an instance-level breaker per instance
// address, applied by a balancer wrapper that skips the instances whose
// breaker is open. It implements client.Suite: pass it to
// client.WithSuite for both levels, or use ServiceMiddleware and
// WrapBalancer for one. A Suite may serve many clients; it is safe for
// concurrent use and holds no goroutine.
type Suite struct {
	opts     options
	classify Classifier
	log      *slog.Logger
	start    time.Time

	svcMu  sync.Mutex // serialises writers of svc and svcCfg
	svc    atomic.Pointer[map[ServiceKey]*cell]
	svcCfg map[ServiceKey]Config

	instMu  sync.Mutex
	inst    map[string]*cell
	instCfg map[string]Config

	stats [2]levelStats
}

var _ client.Suite = (*Suite)(nil)

// NewSuite returns a Suite configured by opts.
func NewSuite(opts ...Option) *Suite {
	s := &Suite{start: time.Now(), svcCfg: map[ServiceKey]Config{}, inst: map[string]*cell{}, instCfg: map[string]Config{}}
	for _, o := range opts {
		o.apply(&s.opts)
	}
	s.classify = s.opts.classify
	if s.classify == nil {
		s.classify = DefaultClassifier
	}
	if s.log = s.opts.logger; s.log == nil {
		s.log = slog.Default()
	}
	m := map[ServiceKey]*cell{}
	s.svc.Store(&m)
	return s
}

// Options returns the client options that install both levels: the
// service-level middleware and the instance-level balancer wrapper.
func (s *Suite) Options() []client.Option {
	return []client.Option{client.WithMiddleware(s.ServiceMiddleware()), client.WithBalancerWrapper(s.WrapBalancer)}
}

// now is the suite's monotonic clock in nanoseconds.
func (s *Suite) now() int64 { return int64(time.Since(s.start)) }

// outcome classifies err; nil is a Success without asking the classifier.
func (s *Suite) outcome(err error) Outcome {
	if err == nil {
		return Success
	}
	return s.classify(err)
}

// serviceCell returns the cell of k, making it on first use.
func (s *Suite) serviceCell(caller, service, method string) *cell {
	k := ServiceKey{Caller: caller, Service: service, Method: method}
	if c := (*s.svc.Load())[k]; c != nil {
		return c
	}
	s.svcMu.Lock()
	defer s.svcMu.Unlock()
	old := *s.svc.Load()
	if c := old[k]; c != nil {
		return c
	}
	cfg, ok := s.svcCfg[k]
	if !ok {
		cfg = s.opts.service
	}
	c := newCell(s, LevelService, k.String(), cfg)
	c.sk = k
	m := make(map[ServiceKey]*cell, len(old)+1)
	for kk, v := range old {
		m[kk] = v
	}
	m[k] = c
	s.svc.Store(&m)
	return c
}

// instanceCell returns the cell of addr, making it on first use.
func (s *Suite) instanceCell(addr string) *cell {
	s.instMu.Lock()
	defer s.instMu.Unlock()
	c := s.inst[addr]
	if c == nil {
		cfg, ok := s.instCfg[addr]
		if !ok {
			cfg = s.opts.instance
		}
		c = newCell(s, LevelInstance, addr, cfg)
		s.inst[addr] = c
	}
	return c
}

// dropInstance forgets the breaker of addr (discovery removed it).
func (s *Suite) dropInstance(addr string) {
	s.instMu.Lock()
	delete(s.inst, addr)
	s.instMu.Unlock()
}

// UpdateServiceConfig sets the policy of the service-level breaker of k,
// at run time. The breaker starts afresh under it: closed, with an empty
// window. The setting outlives the breaker's first use and later ones.
func (s *Suite) UpdateServiceConfig(k ServiceKey, cfg Config) {
	s.svcMu.Lock()
	s.svcCfg[k] = cfg
	c := (*s.svc.Load())[k]
	s.svcMu.Unlock()
	if c != nil {
		c.setConfig(cfg)
	}
}

// UpdateInstanceConfig sets the policy of the breaker of the instance at
// addr, at run time, as UpdateServiceConfig does. The setting is kept
// when discovery removes the instance and applies again if it returns.
func (s *Suite) UpdateInstanceConfig(addr string, cfg Config) {
	s.instMu.Lock()
	s.instCfg[addr] = cfg
	c := s.inst[addr]
	s.instMu.Unlock()
	if c != nil {
		c.setConfig(cfg)
	}
}

// UpdateServiceDefault replaces, at run time, the policy of the
// service-level breakers that have no config of their own (set with
// UpdateServiceConfig); those breakers start afresh under it.
func (s *Suite) UpdateServiceDefault(cfg Config) {
	s.svcMu.Lock()
	s.opts.service = cfg
	var cells []*cell
	for k, c := range *s.svc.Load() {
		if _, own := s.svcCfg[k]; !own {
			cells = append(cells, c)
		}
	}
	s.svcMu.Unlock()
	for _, c := range cells {
		c.setConfig(cfg)
	}
}

// UpdateInstanceDefault replaces, at run time, the policy of the
// instance-level breakers that have no config of their own (set with
// UpdateInstanceConfig), as Kitex's UpdateInstanceCBConfig does; those
// breakers start afresh under it.
func (s *Suite) UpdateInstanceDefault(cfg Config) {
	s.instMu.Lock()
	s.opts.instance = cfg
	var cells []*cell
	for addr, c := range s.inst {
		if _, own := s.instCfg[addr]; !own {
			cells = append(cells, c)
		}
	}
	s.instMu.Unlock()
	for _, c := range cells {
		c.setConfig(cfg)
	}
}

// ServiceState returns the state of the service-level breaker of k
// (Closed if it has not been used). An open breaker reads Open until the
// first call after its open timeout moves it to HalfOpen.
func (s *Suite) ServiceState(k ServiceKey) State {
	if c := (*s.svc.Load())[k]; c != nil {
		return c.cur.Load().current()
	}
	return Closed
}

// InstanceState returns the state of the breaker of the instance at addr
// (Closed if there is none), as ServiceState does.
func (s *Suite) InstanceState(addr string) State {
	s.instMu.Lock()
	c := s.inst[addr]
	s.instMu.Unlock()
	if c != nil {
		return c.cur.Load().current()
	}
	return Closed
}

// Instances returns how many instance-level breakers the suite holds.
func (s *Suite) Instances() int {
	s.instMu.Lock()
	defer s.instMu.Unlock()
	return len(s.inst)
}

// Stats returns the counters of level l.
func (s *Suite) Stats(l Level) Stats {
	ls := &s.stats[l&1]
	return Stats{Opened: ls.opened.Load(), HalfOpened: ls.halfOpened.Load(), Closed: ls.closed.Load(),
		Rejected: ls.rejected.Load(), Skipped: ls.skipped.Load()}
}

func (s *Suite) counted(l Level, to State) {
	ls := &s.stats[l&1]
	switch to {
	case Open:
		ls.opened.Add(1)
	case HalfOpen:
		ls.halfOpened.Add(1)
	case Closed:
		ls.closed.Add(1)
	}
}

// deliver logs ev and hands it to the handlers.
func (s *Suite) deliver(ev Event) {
	lvl := slog.LevelInfo
	if ev.To == Open {
		lvl = slog.LevelWarn
	}
	s.log.Log(context.Background(), lvl, "circuit breaker state change",
		"level", ev.Level.String(), "key", ev.Key, "from", ev.From.String(), "to", ev.To.String())
	for _, h := range s.opts.onChange {
		h(ev)
	}
}
