package discovery

import (
	"context"
	"net"
	"strings"
)

// DefaultWeight is the weight of an instance that does not set one.
const DefaultWeight = 10

// Instance is one callable address of a service.
type Instance interface {
	// Network is "tcp" or "unix".
	Network() string
	// Address is the dial address, such as "10.0.0.1:8888".
	Address() string
	// Weight is the balancing weight; instances with weight <= 0 get no
	// traffic.
	Weight() int
	// Tag returns a metadata value of the instance.
	Tag(key string) (string, bool)
}

// Result is what a resolver found for a target.
type Result struct {
	// Cacheable is true when Key identifies this result for caching.
	Cacheable bool
	// Key identifies the instance set (for balancer caches).
	Key string
	// Instances is the instance list; do not modify it.
	Instances []Instance
}

// Resolver finds instances. Implementations must be safe for concurrent use.
type Resolver interface {
	// Name identifies the resolver, such as "static" or "consul".
	Name() string
	// Resolve returns the instances of service.
	Resolve(ctx context.Context, service string) (Result, error)
}

type instance struct {
	network, address string
	weight           int
	tags             map[string]string
}

// NewInstance returns an Instance. weight 0 is replaced by DefaultWeight;
// tags may be nil.
func NewInstance(network, address string, weight int, tags map[string]string) Instance {
	if weight == 0 {
		weight = DefaultWeight
	}
	return &instance{network: network, address: address, weight: weight, tags: tags}
}

func (i *instance) Network() string         { return i.network }
func (i *instance) Address() string         { return i.address }
func (i *instance) Weight() int             { return i.weight }
func (i *instance) Tags() map[string]string { return i.tags }
func (i *instance) Tag(k string) (string, bool) {
	v, ok := i.tags[k]
	return v, ok
}
func (i *instance) String() string { return i.network + "://" + i.address }

// ParseAddress returns an Instance for a "host:port" address, or for a
// unix socket path (an address with a '/'). The port must be a number
// from 1 to 65535 or a service name the system knows (such as "http");
// the host is not resolved.
func ParseAddress(addr string) (Instance, error) {
	if strings.Contains(addr, "/") {
		if _, err := net.ResolveUnixAddr("unix", addr); err != nil {
			return nil, err
		}
		return NewInstance("unix", addr, DefaultWeight, nil), nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if port == "" {
		return nil, &net.AddrError{Err: "missing port number", Addr: addr}
	}
	n, err := net.LookupPort("tcp", port)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, &net.AddrError{Err: "port 0 cannot be dialed", Addr: addr}
	}
	return NewInstance("tcp", addr, DefaultWeight, nil), nil
}

type static struct{ res Result }

// NewStatic returns a resolver that always returns instances, whatever the
// service.
func NewStatic(instances ...Instance) Resolver {
	keys := make([]string, len(instances))
	for i, in := range instances {
		keys[i] = in.Address()
	}
	return &static{res: Result{Cacheable: true, Key: "static:" + strings.Join(keys, ","), Instances: instances}}
}

func (s *static) Name() string { return "static" }

func (s *static) Resolve(context.Context, string) (Result, error) { return s.res, nil }

// Watch implements Watcher: the instances never change, so update runs
// once, before Watch returns.
func (s *static) Watch(_ string, update func(Result)) (func(), error) {
	update(s.res)
	return func() {}, nil
}
