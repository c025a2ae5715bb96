package consul

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/skiffrpc/skiff/core/discovery"
)

// Resolver finds the instances of Skiff services in Consul. Create it with
// NewResolver; it is safe for concurrent use. It is a discovery.Watcher:
// give it to client.WithResolver and the client follows changes as Consul
// reports them.
//
// A service resolves to the instances whose checks all pass (Consul's
// /v1/health/service with passing=1), carrying every WithTags tag, in the
// WithDatacenter datacenter. Each becomes a discovery.Instance with
// network "tcp", the address "host:port" of the instance (its service
// address, or its node's when the service has none), the weight in its
// MetaWeight Meta key (or its Consul Weights.Passing, or
// discovery.DefaultWeight), and its Meta as tags (so Tag("protocol") reads
// MetaProtocol). An address listed twice counts once.
//
// An entry Consul returns that cannot become an instance (no Service, no
// port or a port out of range, no address, a weight that is not a number)
// is left out and logged at Warn level; when every entry of a non-empty
// answer is bad, or there are more than WithMaxInstances, the answer is an
// error that names them. A service with no passing instance resolves to
// an empty Result and a nil error.
//
// Watch runs one blocking query loop per service, shared by every Watch of
// that service on this Resolver: each answer waits until Consul's index
// moves past the last one seen (or WithWaitTime passes). A failed query, or
// an answer that is an error as above, leaves the last good instance set
// in place and is retried after a backoff with jitter (WithBackoff); the
// watch resumes where Consul is when it answers again, and for a grace
// (WithRecoveryGrace) an answer with no passing instance does not yet
// replace a non-empty set. Resolve answers from that watch while one
// runs, and otherwise asks Consul once.
type Resolver struct {
	o    *options
	conn *conn

	mu      sync.Mutex
	watches map[string]*watch
	closed  bool
}

var (
	_ discovery.Resolver = (*Resolver)(nil)
	_ discovery.Watcher  = (*Resolver)(nil)
)

// NewResolver returns a Resolver for the agent that opts describe (by
// default the one api.DefaultConfig finds, 127.0.0.1:8500). It does not
// contact the agent.
func NewResolver(opts ...Option) (*Resolver, error) {
	o := newOptions(opts)
	c, err := dial(o)
	if err != nil {
		return nil, err
	}
	return &Resolver{o: o, conn: c, watches: map[string]*watch{}}, nil
}

// Name implements discovery.Resolver; it is "consul".
func (r *Resolver) Name() string { return "consul" }

// Resolve implements discovery.Resolver: the current passing instances of
// service, from the running watch of service if there is one (once it has
// had its first answer), else from one query bounded by ctx.
func (r *Resolver) Resolve(ctx context.Context, service string) (discovery.Result, error) {
	r.mu.Lock()
	w := r.watches[service]
	r.mu.Unlock()
	if w != nil {
		w.dmu.Lock()
		res, have := w.res, w.have
		w.dmu.Unlock()
		if have {
			return res, nil
		}
	}
	entries, meta, err := r.query(ctx, service, 0)
	if err != nil {
		return discovery.Result{}, err
	}
	res, bad := r.convert(service, meta.LastIndex, entries)
	if bad != nil {
		if len(res.Instances) == 0 {
			return discovery.Result{}, bad
		}
		r.o.logger.Warn("consul: entries left out", "service", service, "err", bad)
	}
	return res, nil
}

// query asks Consul for the passing instances of service; a waitIndex
// above 0 makes it a blocking query.
func (r *Resolver) query(ctx context.Context, service string, waitIndex uint64) ([]*api.ServiceEntry, *api.QueryMeta, error) {
	q := &api.QueryOptions{
		AllowStale: r.o.stale,
		Datacenter: r.o.datacenter,
		WaitIndex:  waitIndex,
		Namespace:  r.o.namespace,
		Partition:  r.o.partition,
	}
	if waitIndex > 0 {
		q.WaitTime = r.o.waitTime
	}
	entries, meta, err := r.conn.client.Health().ServiceMultipleTags(service, r.o.tags, true, q.WithContext(ctx))
	if err != nil {
		return nil, nil, fmt.Errorf("consul: query %s: %w", service, err)
	}
	return entries, meta, nil
}

// badEntries reports the entries of an answer that could not become
// instances.
type badEntries struct {
	service string
	total   int
	first   []string // up to maxReported descriptions
	n       int
}

const maxReported = 3

func (b *badEntries) add(i int, why string) {
	b.n++
	if len(b.first) < maxReported {
		b.first = append(b.first, fmt.Sprintf("entry %d: %s", i, why))
	}
}

func (b *badEntries) Error() string {
	s := fmt.Sprintf("consul: %d of %d entries of service %s are malformed", b.n, b.total, b.service)
	for _, f := range b.first {
		s += "; " + f
	}
	if b.n > len(b.first) {
		s += fmt.Sprintf("; and %d more", b.n-len(b.first))
	}
	return s
}

// ErrMalformed is matched (errors.Is) by the error for an answer whose
// entries cannot become instances.
var ErrMalformed = errors.New("consul: malformed entries")

func (b *badEntries) Is(target error) bool { return target == ErrMalformed }

// ErrTooManyInstances is matched (errors.Is) by the error for an answer
// with more passing instances than WithMaxInstances allows.
var ErrTooManyInstances = errors.New("consul: too many instances")

// convert turns an answer into a Result. The error, if not nil, lists the
// entries left out (a *badEntries), or says the answer is too large (and
// then the Result is empty).
func (r *Resolver) convert(service string, index uint64, entries []*api.ServiceEntry) (discovery.Result, error) {
	key := "consul:" + service + "#" + strconv.FormatUint(index, 10)
	if len(entries) > r.o.maxInstances {
		return discovery.Result{}, fmt.Errorf("%w: service %s has %d passing instances, more than %d (WithMaxInstances)",
			ErrTooManyInstances, service, len(entries), r.o.maxInstances)
	}
	ins := make([]discovery.Instance, 0, len(entries))
	seen := make(map[string]struct{}, len(entries))
	bad := &badEntries{service: service, total: len(entries)}
	for i, e := range entries {
		in, why := instanceOf(e)
		if why != "" {
			bad.add(i, why)
			continue
		}
		if _, dup := seen[in.Address()]; dup {
			continue
		}
		seen[in.Address()] = struct{}{}
		ins = append(ins, in)
	}
	res := discovery.Result{Cacheable: true, Key: key, Instances: ins}
	if bad.n > 0 {
		return res, bad
	}
	return res, nil
}

// instanceOf converts one entry, or says why it cannot.
func instanceOf(e *api.ServiceEntry) (discovery.Instance, string) {
	if e == nil || e.Service == nil {
		return nil, "no Service"
	}
	s := e.Service
	name := s.ID
	if name == "" {
		name = s.Service
	}
	if s.Port <= 0 || s.Port > 65535 {
		return nil, fmt.Sprintf("instance %q has port %d, not 1 to 65535", name, s.Port)
	}
	host := s.Address
	if host == "" && e.Node != nil {
		host = e.Node.Address
	}
	if host == "" {
		return nil, fmt.Sprintf("instance %q has no address (neither its service nor its node)", name)
	}
	weight := discovery.DefaultWeight
	if v, ok := s.Meta[MetaWeight]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Sprintf("instance %q has Meta %s %q, not a number >= 0", name, MetaWeight, v)
		}
		weight = n
	} else if s.Weights.Passing > 0 {
		weight = s.Weights.Passing
	}
	var tags map[string]string
	if len(s.Meta) > 0 {
		tags = maps.Clone(s.Meta)
	}
	if weight == 0 {
		// NewInstance reads 0 as "unset"; an explicit 0 means no traffic.
		weight = -1
	}
	return discovery.NewInstance("tcp", net.JoinHostPort(host, strconv.Itoa(s.Port)), weight, tags), ""
}

// Watch implements discovery.Watcher. The first update comes once Consul
// has answered (Watch does not wait for it), then one per change of the
// instance set. update runs on the watch's goroutine and must not call
// stop. Watch fails only after Close.
func (r *Resolver) Watch(service string, update func(discovery.Result)) (func(), error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	w := r.watches[service]
	if w == nil {
		ctx, cancel := context.WithCancel(context.Background())
		w = &watch{r: r, service: service, cancel: cancel, done: make(chan struct{}), subs: map[*func(discovery.Result)]struct{}{}}
		r.watches[service] = w
		go w.run(ctx)
	}
	w.refs++
	r.mu.Unlock()

	fn := &update
	w.dmu.Lock()
	w.subs[fn] = struct{}{}
	if w.have {
		update(w.res)
	}
	w.dmu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			w.dmu.Lock()
			delete(w.subs, fn)
			w.dmu.Unlock()
			r.release(w)
		})
	}, nil
}

// release drops one reference to w; the last one stops it.
func (r *Resolver) release(w *watch) {
	r.mu.Lock()
	w.refs--
	last := w.refs == 0
	if last && r.watches[w.service] == w {
		delete(r.watches, w.service)
	}
	r.mu.Unlock()
	if last {
		w.cancel()
		<-w.done
	}
}

// Close stops every watch (their stop functions become no-ops), makes
// Watch fail with ErrClosed and releases idle connections.
func (r *Resolver) Close() error {
	r.mu.Lock()
	r.closed = true
	ws := r.watches
	r.watches = map[string]*watch{}
	r.mu.Unlock()
	for _, w := range ws {
		w.cancel()
		<-w.done
	}
	r.conn.close()
	return nil
}

// watch is the shared blocking-query loop of one service.
type watch struct {
	r       *Resolver
	service string
	cancel  context.CancelFunc
	done    chan struct{}
	refs    int // guarded by r.mu

	dmu  sync.Mutex // serialises deliveries; guards the fields below
	subs map[*func(discovery.Result)]struct{}
	res  discovery.Result
	have bool
}

// run queries Consul until ctx ends, delivering each new instance set.
func (w *watch) run(ctx context.Context) {
	defer close(w.done)
	log := w.r.o.logger.With("service", w.service)
	bo := backoff{min: w.r.o.backoffMin, max: w.r.o.backoffMax}
	var index uint64
	failing := false
	var graceEnd time.Time // until then, an empty answer is distrusted
	fail := func(err error) bool {
		if !failing {
			log.Warn("consul: watch failing; keeping the last instance set", "err", err)
		} else {
			log.Debug("consul: watch still failing", "err", err)
		}
		failing = true
		return sleep(ctx, bo.delay())
	}
	for {
		start := time.Now()
		entries, meta, err := w.r.query(ctx, w.service, index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if !fail(err) {
				return
			}
			continue
		}
		if failing {
			log.Info("consul: watch resumed")
			failing = false
			graceEnd = time.Now().Add(w.r.o.recoveryGrace)
		}
		bo.reset()
		prev := index
		if meta.LastIndex < prev {
			// Consul's index went back (a restarted cluster, another
			// server): start over with a fresh, non-blocking read.
			index = 0
			graceEnd = time.Now().Add(w.r.o.recoveryGrace)
		} else {
			index = max(meta.LastIndex, 1)
		}
		if index == prev {
			// No change. A query that returns early without one (not
			// Consul's behaviour, but a proxy's) must not spin.
			if time.Since(start) < w.r.o.waitTime/2 && !sleep(ctx, w.r.o.backoffMin) {
				return
			}
			continue
		}
		res, err := w.r.convert(w.service, meta.LastIndex, entries)
		if err != nil {
			var bad *badEntries
			if !errors.As(err, &bad) || len(res.Instances) == 0 {
				if !fail(err) {
					return
				}
				continue
			}
			log.Warn("consul: entries left out", "err", err)
		}
		if left := time.Until(graceEnd); len(res.Instances) == 0 && left > 0 && w.holding() {
			// Just recovered: the instances' checks may not have passed
			// again yet (WithRecoveryGrace). Read again soon, afresh.
			log.Debug("consul: no passing instance right after recovery; keeping the last instance set", "grace left", left)
			index = 0
			if !sleep(ctx, min(left, recoveryPoll)) {
				return
			}
			continue
		}
		graceEnd = time.Time{}
		w.deliver(res)
	}
}

// recoveryPoll is how often a watch reads again while it distrusts an
// empty answer (WithRecoveryGrace).
const recoveryPoll = 500 * time.Millisecond

// holding reports whether the watch has delivered a non-empty set.
func (w *watch) holding() bool {
	w.dmu.Lock()
	defer w.dmu.Unlock()
	return w.have && len(w.res.Instances) > 0
}

// deliver stores res and hands it to the subscribers if it differs from
// the current set.
func (w *watch) deliver(res discovery.Result) {
	w.dmu.Lock()
	defer w.dmu.Unlock()
	if w.have {
		ch := discovery.Diff(w.res, res)
		if ch.Empty() {
			return
		}
	}
	w.res, w.have = res, true
	for fn := range w.subs {
		(*fn)(res)
	}
}
