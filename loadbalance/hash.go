package loadbalance

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/discovery"
	lb "github.com/skiffrpc/skiff/core/loadbalance"
)

// DefaultVirtualNodes is how many points an instance of weight
// discovery.DefaultWeight gets on a consistent-hash ring.
const DefaultVirtualNodes = 100

// hashKey is the per-call option WithHashKey sets.
var hashKey = callinfo.NewKey[string]("loadbalance.hash_key")

// WithHashKey sends the call to the instance a consistent-hash balancer
// ([NewConsistentHash]) maps key to. Calls with the same key go to the same
// instance while it is there. A call option set this way wins over the
// balancer's key function ([WithKeyFunc]).
func WithHashKey(key string) client.CallOption { return client.WithCallOption(hashKey, key) }

// SetHashKey sets the hash key of the call ctx carries, as WithHashKey
// does; client middleware uses it to derive the key from the request. It
// must run before the balancer picks (in client middleware, not instance
// middleware), and does nothing when ctx carries no call.
func SetHashKey(ctx context.Context, key string) { hashKey.Set(callinfo.From(ctx), key) }

// HashKey returns the hash key WithHashKey or SetHashKey set on the call
// ctx carries, and whether one was set.
func HashKey(ctx context.Context) (string, bool) { return hashKey.Get(callinfo.From(ctx)) }

// HashOption configures [NewConsistentHash].
type HashOption interface{ applyHash(*hashConfig) }

type hashOptionFunc func(*hashConfig)

func (f hashOptionFunc) applyHash(c *hashConfig) { f(c) }

type hashConfig struct {
	vnodes  int
	keyFunc func(context.Context) (string, bool)
	bound   float64
}

// WithVirtualNodes sets how many ring points an instance of weight
// discovery.DefaultWeight gets (default [DefaultVirtualNodes]); an
// instance of weight w gets n*w/DefaultWeight points, at least 1. More
// points spread keys more evenly and make the ring larger (a pick is a
// binary search over all points). n <= 0 keeps the default.
func WithVirtualNodes(n int) HashOption {
	return hashOptionFunc(func(c *hashConfig) {
		if n > 0 {
			c.vnodes = n
		}
	})
}

// WithKeyFunc sets the function that derives a call's hash key from its
// context when no per-call key was set with [WithHashKey] or
// [SetHashKey]; ok false means the call has no key. The function runs on
// every pick: it must be fast, safe for concurrent use, and should not
// allocate.
func WithKeyFunc(f func(ctx context.Context) (key string, ok bool)) HashOption {
	return hashOptionFunc(func(c *hashConfig) { c.keyFunc = f })
}

// WithBoundedLoad turns on consistent hashing with bounded loads (Mirrokni,
// Thorup and Zadimoghaddam, 2016): no instance takes more than factor
// times its fair share (by weight) of the calls in flight, rounded up; a
// key whose instance is full goes on to the next instance clockwise on
// the ring. factor must be above 1 (1.25 is a common choice); 0 turns it
// off (the default); other values are ignored. The balancer then counts calls in flight through
// loadbalance.Feedback.
func WithBoundedLoad(factor float64) HashOption {
	return hashOptionFunc(func(c *hashConfig) {
		if factor > 1 || factor == 0 {
			c.bound = factor
		}
	})
}

// NewConsistentHash returns a consistent-hashing balancer: each instance
// owns points on a ring of 64-bit hashes (virtual nodes, in proportion to
// its weight), and a call goes to the owner of the first point at or after
// its key's hash. Removing one instance of n moves only the keys it owned
// (about 1/n of them) and adding one takes only its own share.
//
// The key is the per-call option [WithHashKey] (or [SetHashKey]), else
// the [WithKeyFunc] function; a call without a key goes to a random point
// of the ring. Keys and addresses are hashed with a fixed function (FNV-1a
// and a 64-bit finaliser), so every client maps a key to the same
// instance. Instances with weight <= 0 get no traffic.
//
// The ring is built when the instance set changes; a pick is a binary
// search and allocates nothing. With [WithBoundedLoad] the balancer keeps
// per-address counts of calls in flight: give each client its own value
// of it.
func NewConsistentHash(opts ...HashOption) lb.Balancer {
	c := hashConfig{vnodes: DefaultVirtualNodes}
	for _, o := range opts {
		o.applyHash(&c)
	}
	return &consistentHash{cfg: c}
}

type consistentHash struct {
	cfg   hashConfig
	load  registry[hashLoad]
	total atomic.Int64 // calls in flight, all instances (bounded load only)
}

type hashLoad struct{ inflight atomic.Int64 }

// Name returns "consistent_hash".
func (b *consistentHash) Name() string { return "consistent_hash" }

// OnChange implements loadbalance.ChangeObserver: it forgets the in-flight
// counts of removed instances.
func (b *consistentHash) OnChange(_ string, ch discovery.Change) { b.load.remove(ch.Removed) }

// Picker builds the ring of res's instances.
func (b *consistentHash) Picker(res discovery.Result) lb.Picker {
	ins := usable(res.Instances)
	switch len(ins) {
	case 0:
		return emptyPicker{}
	case 1:
		if b.cfg.bound == 0 {
			return singlePicker{ins[0]}
		}
	}
	r := ring{ins: ins, keyFunc: b.cfg.keyFunc}
	type point struct {
		h     uint64
		owner int32
	}
	var pts []point
	for i, in := range ins {
		n := max(1, int(math.Round(float64(b.cfg.vnodes)*float64(in.Weight())/discovery.DefaultWeight)))
		base := hashString(in.Address())
		for j := 0; j < n; j++ {
			pts = append(pts, point{h: mix64(base + uint64(j+1)*0x9e3779b97f4a7c15), owner: int32(i)})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		return cmp.Compare(ins[a.owner].Address(), ins[b.owner].Address())
	})
	r.points = make([]uint64, len(pts))
	r.owners = make([]int32, len(pts))
	for i, p := range pts {
		r.points[i], r.owners[i] = p.h, p.owner
	}
	if b.cfg.bound == 0 {
		return &r
	}
	bp := &boundedRing{ring: r, b: b, loads: b.load.ensure(ins), share: make([]float64, len(ins))}
	var total float64
	for _, in := range ins {
		total += float64(in.Weight())
	}
	for i, in := range ins {
		bp.share[i] = b.cfg.bound * float64(in.Weight()) / total
	}
	return bp
}

// ring is a consistent-hash picker.
type ring struct {
	ins     []discovery.Instance
	points  []uint64 // sorted
	owners  []int32  // owners[i] owns points[i]
	keyFunc func(context.Context) (string, bool)
}

// start returns the index of the ring point the call's key maps to.
func (r *ring) start(ctx context.Context) int {
	var h uint64
	if key, ok := hashKey.Get(callinfo.From(ctx)); ok {
		h = hashString(key)
	} else if key, ok := r.keyOf(ctx); ok {
		h = hashString(key)
	} else {
		h = rand.Uint64()
	}
	lo, hi := 0, len(r.points)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.points[m] < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(r.points) {
		lo = 0
	}
	return lo
}

func (r *ring) keyOf(ctx context.Context) (string, bool) {
	if r.keyFunc == nil {
		return "", false
	}
	return r.keyFunc(ctx)
}

func (r *ring) Next(ctx context.Context) discovery.Instance { return r.ins[r.owners[r.start(ctx)]] }

// boundedRing is a ring picker with bounded loads.
type boundedRing struct {
	ring
	b     *consistentHash
	loads []*hashLoad // per instance, shared with the balancer's registry
	share []float64   // bound * weight / total weight, per instance
}

func (p *boundedRing) Next(ctx context.Context) discovery.Instance {
	i := p.start(ctx)
	want := float64(p.b.total.Load() + 1)
	for k := 0; k < len(p.points); k++ {
		o := p.owners[i]
		if l := p.loads[o]; float64(l.inflight.Load()) < math.Ceil(want*p.share[o]) {
			l.inflight.Add(1)
			p.b.total.Add(1)
			return p.ins[o]
		}
		if i++; i == len(p.points) {
			i = 0
		}
	}
	// Unreachable while the counts are consistent (someone is always under
	// its bound); keep the key's own instance if they are not.
	o := p.owners[i]
	p.loads[o].inflight.Add(1)
	p.b.total.Add(1)
	return p.ins[o]
}

// Done implements loadbalance.Feedback: the call no longer counts against
// its instance.
func (p *boundedRing) Done(_ context.Context, in discovery.Instance, _ lb.DoneInfo) {
	p.b.total.Add(-1)
	if l := p.b.load.get(in.Address()); l != nil {
		if l.inflight.Add(-1) < 0 {
			l.inflight.Add(1) // a Done for a state recreated since its pick
		}
	}
}

// hashString is FNV-1a followed by mix64, a fixed hash every process
// agrees on.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// mix64 is the 64-bit finaliser of MurmurHash3: a bijection that spreads
// every input bit over the output.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
