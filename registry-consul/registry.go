package consul

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/consul/api"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/registry"
)

// Registry registers Skiff server instances with a Consul agent. Create it
// with NewRegistry; it is safe for concurrent use.
//
// Register makes, for each of info.ServiceNames, one Consul service
// instance:
//
//   - Name: the service name;
//   - ID: "<name>@<host>:<port>" (see ServiceID): one listening address
//     belongs to one process at a time, so the ID is unique per process
//     and address, and a restarted process takes over the entry its
//     crashed predecessor left instead of adding a second one;
//   - Address and Port: info.Addr, a TCP "host:port" with a specific host
//     and a port from 1 to 65535 (unix sockets are refused);
//   - Tags: WithTags' tags, then "key=value" for each of info.Tags (sorted);
//   - Meta: info.Tags, plus MetaWeight (info.Weight, or
//     discovery.DefaultWeight when 0) and MetaProtocol (WithProtocol).
//     Consul allows up to 64 Meta keys of letters, digits, '-' and '_'
//     that do not begin with "consul-"; Register refuses other tags;
//   - Weights: Passing info's weight, Warning 1;
//   - one TTL check ("skiff:<ID>"), passing from the start, with
//     DeregisterCriticalServiceAfter (WithDeregisterCriticalAfter).
//
// While an instance is registered, a goroutine of the Registry reports its
// check passing every third of the TTL. A heartbeat that fails (the agent
// restarted and forgot the instance, or is unreachable) is followed by a
// new registration of the instance, retried with backoff until the agent
// takes it. Register starts that goroutine even when its first
// registration fails, so an instance whose agent was down at start
// registers once the agent is up; the error is still returned.
//
// Deregister stops the heartbeat and removes the instances from the agent
// at once (deregistering an instance the agent does not know is not an
// error). Close deregisters whatever is still registered.
type Registry struct {
	o    *options
	conn *conn

	mu      sync.Mutex
	entries map[string]*entry // by service ID
	closed  bool
}

// entry is one registered Consul service instance and its heartbeat.
type entry struct {
	mu     sync.Mutex
	reg    *api.AgentServiceRegistration // replaced, never modified
	cancel context.CancelFunc
	done   chan struct{}
}

func (e *entry) current() *api.AgentServiceRegistration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reg
}

var _ registry.Registry = (*Registry)(nil)

// ErrClosed is returned by the Registry's Register and the Resolver's
// Watch after Close.
var ErrClosed = errors.New("consul: closed")

// NewRegistry returns a Registry for the agent that opts describe (by
// default the one api.DefaultConfig finds, 127.0.0.1:8500). It does not
// contact the agent.
func NewRegistry(opts ...Option) (*Registry, error) {
	o := newOptions(opts)
	c, err := dial(o)
	if err != nil {
		return nil, err
	}
	return &Registry{o: o, conn: c, entries: map[string]*entry{}}, nil
}

// ServiceID returns the Consul service ID the Registry gives the instance
// of service at the TCP address addr ("host:port").
func ServiceID(service, addr string) string { return service + "@" + addr }

func checkID(serviceID string) string { return "skiff:" + serviceID }

var metaKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// instanceAddr checks info and returns its host and port.
func instanceAddr(info *registry.Info) (host string, port int, err error) {
	switch {
	case info == nil:
		return "", 0, errors.New("consul: nil registry.Info")
	case len(info.ServiceNames()) == 0:
		return "", 0, errors.New("consul: registry.Info without service names")
	case info.Addr == nil:
		return "", 0, errors.New("consul: registry.Info without Addr")
	}
	addr := info.Addr.String()
	if n := info.Addr.Network(); n != "tcp" && n != "tcp4" && n != "tcp6" {
		return "", 0, fmt.Errorf("consul: cannot register %s address %q: Consul instances are TCP host:port", n, addr)
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("consul: registry.Info Addr %q: %w", addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("consul: registry.Info Addr %q: port must be a number from 1 to 65535", addr)
	}
	if h == "" {
		return "", 0, fmt.Errorf("consul: registry.Info Addr %q has no host", addr)
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
		return "", 0, fmt.Errorf("consul: registry.Info Addr %q has an unspecified host; advertise the address clients dial", addr)
	}
	return h, port, nil
}

// registrations builds the Consul registrations of info.
func (r *Registry) registrations(info *registry.Info) ([]*api.AgentServiceRegistration, error) {
	host, port, err := instanceAddr(info)
	if err != nil {
		return nil, err
	}
	if info.Weight < 0 {
		return nil, fmt.Errorf("consul: registry.Info Weight %d is negative", info.Weight)
	}
	weight := info.Weight
	if weight == 0 {
		weight = discovery.DefaultWeight
	}
	meta := make(map[string]string, len(info.Tags)+2)
	keys := slices.Sorted(maps.Keys(info.Tags))
	tags := append(make([]string, 0, len(r.o.tags)+len(keys)), r.o.tags...)
	for _, k := range keys {
		v := info.Tags[k]
		if !metaKey.MatchString(k) || strings.HasPrefix(k, "consul-") {
			return nil, fmt.Errorf("consul: tag key %q cannot be a Consul Meta key (1 to 128 letters, digits, '-' or '_', not beginning with \"consul-\")", k)
		}
		if len(v) > 512 {
			return nil, fmt.Errorf("consul: tag %q: value of %d bytes is longer than Consul's 512", k, len(v))
		}
		meta[k] = v
		tags = append(tags, k+"="+v)
	}
	meta[MetaWeight] = strconv.Itoa(weight)
	if r.o.protocol != "" {
		meta[MetaProtocol] = r.o.protocol
	}
	if len(meta) > 64 {
		return nil, fmt.Errorf("consul: %d tags: Consul allows 64 Meta keys, two of them taken by weight and protocol", len(info.Tags))
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	names := info.ServiceNames()
	regs := make([]*api.AgentServiceRegistration, 0, len(names))
	for _, name := range names {
		if name == "" || strings.ContainsAny(name, "/?#") {
			return nil, fmt.Errorf("consul: service name %q is empty or has '/', '?' or '#'", name)
		}
		id := ServiceID(name, addr)
		regs = append(regs, &api.AgentServiceRegistration{
			ID:        id,
			Name:      name,
			Tags:      tags,
			Address:   host,
			Port:      port,
			Meta:      meta,
			Weights:   &api.AgentWeights{Passing: weight, Warning: 1},
			Namespace: r.o.namespace,
			Partition: r.o.partition,
			Check: &api.AgentServiceCheck{
				CheckID:                        checkID(id),
				Name:                           "skiff heartbeat",
				TTL:                            r.o.ttl.String(),
				Status:                         api.HealthPassing,
				DeregisterCriticalServiceAfter: r.o.deregisterAfter.String(),
			},
		})
	}
	return regs, nil
}

// Register implements registry.Registry; see Registry.
func (r *Registry) Register(info *registry.Info) error {
	regs, err := r.registrations(info)
	if err != nil {
		return err
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return ErrClosed
	}
	var errs []error
	for _, reg := range regs {
		if err := r.conn.client.Agent().ServiceRegister(reg); err != nil {
			errs = append(errs, fmt.Errorf("consul: register %s: %w", reg.ID, err))
		}
		r.track(reg)
	}
	return errors.Join(errs...)
}

// track records reg and starts its heartbeat, or replaces the registration
// the running heartbeat re-registers.
func (r *Registry) track(reg *api.AgentServiceRegistration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if e := r.entries[reg.ID]; e != nil {
		e.mu.Lock()
		e.reg = reg
		e.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &entry{reg: reg, cancel: cancel, done: make(chan struct{})}
	r.entries[reg.ID] = e
	go r.heartbeat(ctx, e)
}

// heartbeat reports e's check passing every third of the TTL until ctx
// ends; when that fails it registers the instance again.
func (r *Registry) heartbeat(ctx context.Context, e *entry) {
	defer close(e.done)
	agent := r.conn.client.Agent()
	interval := r.o.ttl / 3
	bo := backoff{min: r.o.backoffMin, max: min(r.o.backoffMax, interval)}
	// The first beat comes after half to all of the interval, so the
	// heartbeats of instances registered together spread out.
	wait := interval/2 + rand.N(interval/2+1)
	failing := false
	for {
		if !sleep(ctx, wait) {
			return
		}
		reg := e.current()
		q := (&api.QueryOptions{}).WithContext(ctx)
		err := agent.UpdateTTLOpts(checkID(reg.ID), "", api.HealthPassing, q)
		if err == nil {
			if failing {
				r.o.logger.Info("consul: heartbeat restored", "id", reg.ID)
			}
			failing, wait = false, interval
			bo.reset()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		// The agent may have forgotten the instance (it restarted without
		// its state): register it again.
		rerr := agent.ServiceRegisterOpts(reg, api.ServiceRegisterOpts{}.WithContext(ctx))
		if ctx.Err() != nil {
			return
		}
		if rerr == nil {
			r.o.logger.Info("consul: registered again after a failed heartbeat", "id", reg.ID, "heartbeat_err", err)
			failing, wait = false, interval
			bo.reset()
			continue
		}
		if !failing {
			r.o.logger.Warn("consul: heartbeat and registration failing; retrying", "id", reg.ID, "err", rerr)
		} else {
			r.o.logger.Debug("consul: heartbeat and registration still failing", "id", reg.ID, "err", rerr)
		}
		failing, wait = true, bo.delay()
	}
}

// Deregister implements registry.Registry; see Registry.
func (r *Registry) Deregister(info *registry.Info) error {
	host, port, err := instanceAddr(info)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var errs []error
	for _, name := range info.ServiceNames() {
		id := ServiceID(name, addr)
		r.mu.Lock()
		e := r.entries[id]
		delete(r.entries, id)
		r.mu.Unlock()
		if err := r.remove(id, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// remove stops e's heartbeat (e may be nil) and deregisters id.
func (r *Registry) remove(id string, e *entry) error {
	if e != nil {
		e.cancel()
		<-e.done
	}
	if err := r.conn.client.Agent().ServiceDeregister(id); err != nil {
		var se api.StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			return nil
		}
		return fmt.Errorf("consul: deregister %s: %w", id, err)
	}
	return nil
}

// Close deregisters every instance still registered, stops their
// heartbeats and releases idle connections; Register fails with ErrClosed
// after it. Close is for the end of a
// process or test: a server deregisters through Deregister.
func (r *Registry) Close() error {
	r.mu.Lock()
	r.closed = true
	entries := r.entries
	r.entries = map[string]*entry{}
	r.mu.Unlock()
	var errs []error
	for id, e := range entries {
		if err := r.remove(id, e); err != nil {
			errs = append(errs, err)
		}
	}
	r.conn.close()
	return errors.Join(errs...)
}
