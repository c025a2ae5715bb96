package consul

import (
	"log/slog"
	"time"

	"github.com/hashicorp/consul/api"
)

// Defaults of the options.
const (
	// DefaultTTL is the TTL of the check each registered instance carries
	// (WithTTL).
	DefaultTTL = 5 * time.Second
	// DefaultDeregisterCriticalAfter is how long Consul keeps an instance
	// whose check is critical before it removes it
	// (WithDeregisterCriticalAfter).
	DefaultDeregisterCriticalAfter = time.Minute
	// DefaultWaitTime is how long one blocking query waits for a change
	// (WithWaitTime).
	DefaultWaitTime = time.Minute
	// DefaultBackoffMin and DefaultBackoffMax bound the delay between
	// failed queries or heartbeats (WithBackoff).
	DefaultBackoffMin = 100 * time.Millisecond
	DefaultBackoffMax = 5 * time.Second
	// DefaultMaxInstances is the most passing instances a service may
	// have (WithMaxInstances).
	DefaultMaxInstances = 4096
	// DefaultMaxResponseBytes is the largest Consul HTTP response body
	// read (WithMaxResponseBytes).
	DefaultMaxResponseBytes = 16 << 20
	// DefaultRecoveryGrace is how long, after a watch's queries failed
	// and Consul answers again (or after Consul's index went back), an
	// answer with no passing instance does not replace a non-empty
	// instance set (WithRecoveryGrace).
	DefaultRecoveryGrace = 10 * time.Second
)

// Meta keys the Registry writes into each Consul service instance, besides
// the instance's registry.Info.Tags.
const (
	// MetaWeight holds the instance's balancing weight in decimal.
	MetaWeight = "weight"
	// MetaProtocol holds the protocol the instance serves (WithProtocol);
	// absent when none is set.
	MetaProtocol = "protocol"
)

// Option configures a Registry or a Resolver. Options that concern only
// one of them say so; the other ignores them.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	config           *api.Config
	address          string
	datacenter       string
	namespace        string
	partition        string
	token            string
	stale            bool
	tags             []string
	protocol         string
	ttl              time.Duration
	deregisterAfter  time.Duration
	waitTime         time.Duration
	backoffMin       time.Duration
	backoffMax       time.Duration
	maxInstances     int
	maxResponseBytes int64
	recoveryGrace    time.Duration
	logger           *slog.Logger
}

func newOptions(opts []Option) *options {
	o := &options{
		ttl:              DefaultTTL,
		deregisterAfter:  DefaultDeregisterCriticalAfter,
		waitTime:         DefaultWaitTime,
		backoffMin:       DefaultBackoffMin,
		backoffMax:       DefaultBackoffMax,
		maxInstances:     DefaultMaxInstances,
		maxResponseBytes: DefaultMaxResponseBytes,
		recoveryGrace:    DefaultRecoveryGrace,
	}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(o)
		}
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.backoffMax < o.backoffMin {
		o.backoffMax = o.backoffMin
	}
	return o
}

// WithConfig starts from cfg instead of api.DefaultConfig() (which reads
// the CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN and related environment
// variables). The other options override its fields; cfg itself is not
// modified. Its HttpClient, if set, is used as it is, and then
// WithMaxResponseBytes does not apply.
func WithConfig(cfg *api.Config) Option {
	return optionFunc(func(o *options) { o.config = cfg })
}

// WithAddress sets the Consul agent's HTTP address, such as
// "127.0.0.1:8500" (default: api.DefaultConfig's, 127.0.0.1:8500 unless
// CONSUL_HTTP_ADDR says otherwise).
func WithAddress(addr string) Option {
	return optionFunc(func(o *options) { o.address = addr })
}

// WithDatacenter sets the datacenter the Resolver finds instances in
// (default: its agent's own). Resolver only: a Registry registers with its
// agent, which belongs to one datacenter.
func WithDatacenter(dc string) Option {
	return optionFunc(func(o *options) { o.datacenter = dc })
}

// WithNamespace sets the Consul namespace (Consul Enterprise) that
// instances are registered in and resolved from (default: the token's or
// the agent's default namespace).
func WithNamespace(ns string) Option {
	return optionFunc(func(o *options) { o.namespace = ns })
}

// WithPartition sets the admin partition (Consul Enterprise), as
// WithNamespace does.
func WithPartition(p string) Option {
	return optionFunc(func(o *options) { o.partition = p })
}

// WithToken sets the ACL token sent with every request (default: none,
// or CONSUL_HTTP_TOKEN).
func WithToken(token string) Option {
	return optionFunc(func(o *options) { o.token = token })
}

// WithStale lets the Resolver read from any Consul server, not only the
// leader: reads scale and survive a leaderless cluster, at the price of
// data that may lag the leader by a little. Resolver only; default off
// (consistent reads through the leader).
func WithStale(stale bool) Option {
	return optionFunc(func(o *options) { o.stale = stale })
}

// WithTags sets Consul tags. On a Registry they are added to every
// instance it registers (besides a "key=value" tag for each entry of
// registry.Info.Tags). On a Resolver they filter: only instances carrying
// every one of the tags are resolved (Consul filters on the server side).
func WithTags(tags ...string) Option {
	return optionFunc(func(o *options) { o.tags = append(o.tags, tags...) })
}

// WithProtocol sets the protocol the registered instances serve (such as
// "ttheader" or "grpc"), written to the MetaProtocol Meta key. Registry
// only; default none.
func WithProtocol(p string) Option {
	return optionFunc(func(o *options) { o.protocol = p })
}

// WithTTL sets the TTL of each registered instance's check; the Registry
// reports the check passing every third of it. An instance whose process
// stops heartbeating goes critical (and out of every Resolver) within d.
// Registry only; default DefaultTTL; d <= 0 keeps the default, and Consul
// needs at least one second.
func WithTTL(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.ttl = d
		}
	})
}

// WithDeregisterCriticalAfter sets how long Consul keeps an instance whose
// check is critical before it deregisters it (the check's
// DeregisterCriticalServiceAfter); Consul enforces at least one minute and
// reaps every 30 s. Registry only; default
// DefaultDeregisterCriticalAfter; d <= 0 keeps the default.
func WithDeregisterCriticalAfter(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.deregisterAfter = d
		}
	})
}

// WithWaitTime sets how long one blocking query waits for a change before
// Consul answers anyway. Resolver only; default DefaultWaitTime; d <= 0
// keeps the default.
func WithWaitTime(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.waitTime = d
		}
	})
}

// WithBackoff bounds the delay after a failed query (Resolver) or
// heartbeat (Registry): it starts at min, doubles on each consecutive
// failure up to max, and is drawn at random between half and all of that
// (jitter, so many processes do not retry in step). Defaults
// DefaultBackoffMin and DefaultBackoffMax; a value <= 0 keeps its default.
func WithBackoff(min, max time.Duration) Option {
	return optionFunc(func(o *options) {
		if min > 0 {
			o.backoffMin = min
		}
		if max > 0 {
			o.backoffMax = max
		}
	})
}

// WithMaxInstances sets the most passing instances a service may have: a
// larger answer is an error (the Resolver keeps its last good set and logs
// it) rather than an unbounded instance set. Resolver only; default
// DefaultMaxInstances; n <= 0 keeps the default.
func WithMaxInstances(n int) Option {
	return optionFunc(func(o *options) {
		if n > 0 {
			o.maxInstances = n
		}
	})
}

// WithMaxResponseBytes sets the largest Consul HTTP response body read;
// reading a larger one fails with an error instead of buffering it.
// Default DefaultMaxResponseBytes; n <= 0 keeps the default.
func WithMaxResponseBytes(n int64) Option {
	return optionFunc(func(o *options) {
		if n > 0 {
			o.maxResponseBytes = n
		}
	})
}

// WithRecoveryGrace sets how long a watch distrusts an answer with no
// passing instance once Consul answers again after failed queries (or
// after its index went back): a restarted agent reports every TTL check
// critical until its instance's next heartbeat, so for a moment it lists
// none of the instances that are up. During the grace such an answer
// leaves a non-empty instance set in place and the watch reads again
// every half second; an answer with instances ends the grace, and an
// empty answer still there when the grace ends is delivered. A healthy
// watch delivers an empty answer at once. The grace should be a little
// more than a third of the longest TTL the instances register with
// (WithTTL), the time to their next heartbeat: the default suits TTLs up
// to about 25 s. Resolver only; default
// DefaultRecoveryGrace; 0 keeps the default, and d < 0 turns the grace
// off.
func WithRecoveryGrace(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d != 0 {
			o.recoveryGrace = max(d, 0)
		}
	})
}

// WithLogger sets the logger for heartbeat, re-registration and watch
// events (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) { o.logger = l })
}
