package loadbalance

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/discovery"
	lb "github.com/skiffrpc/skiff/core/loadbalance"
)

// Defaults of [NewP2C].
const (
	// DefaultDecay is the time constant of the latency average: a sample
	// counts for 1/e as much after this long.
	DefaultDecay = 10 * time.Second
	// DefaultFailurePenalty is the latency a failed attempt counts as, at
	// least.
	DefaultFailurePenalty = time.Second
)

// P2COption configures [NewP2C].
type P2COption interface{ applyP2C(*p2cConfig) }

type p2cOptionFunc func(*p2cConfig)

func (f p2cOptionFunc) applyP2C(c *p2cConfig) { f(c) }

type p2cConfig struct {
	decay    float64 // ns
	penalty  float64 // ns
	classify func(error) Outcome
}

// WithDecay sets the time constant of the peak-EWMA latency (default
// [DefaultDecay]): how fast an instance's estimate forgets its past, and
// how fast the estimate of an instance that gets no calls drifts to zero
// so that it is tried again. d <= 0 keeps the default.
func WithDecay(d time.Duration) P2COption {
	return p2cOptionFunc(func(c *p2cConfig) {
		if d > 0 {
			c.decay = float64(d)
		}
	})
}

// WithFailurePenalty sets the latency a failed attempt counts as, at least
// (default [DefaultFailurePenalty]), so that an instance that fails fast
// (a refused connection) does not look fast. It is also the cost of each
// call in flight to an instance that has not answered yet. d <= 0 keeps
// the default.
func WithFailurePenalty(d time.Duration) P2COption {
	return p2cOptionFunc(func(c *p2cConfig) {
		if d > 0 {
			c.penalty = float64(d)
		}
	})
}

// WithP2CClassifier sets how an attempt's error counts (default
// [Classify]): a Failure counts as at least the failure penalty, an
// Ignored outcome (a canceled attempt) gives no latency sample.
func WithP2CClassifier(f func(error) Outcome) P2COption {
	return p2cOptionFunc(func(c *p2cConfig) {
		if f != nil {
			c.classify = f
		}
	})
}

// NewP2C returns the least-request, power-of-two-choices balancer with
// peak-EWMA latency (Finagle's and Linkerd's "P2C + peak EWMA"): each pick
// draws two distinct instances at random and takes the one of lower cost,
// where cost is the instance's latency estimate times its calls in flight
// plus one. The estimate is an exponentially weighted moving average in
// time (see [WithDecay]) that jumps at once to any sample above it (the
// peak), so a slowing instance is avoided after its first slow reply and
// trusted again only gradually (each sample weighs at least 1/16, so a
// busy instance's estimate follows its last few dozen replies whatever the
// decay time). It drifts towards zero while an instance
// gets no calls, so an instance once slow is tried again now and then.
// Failed attempts count as at least [WithFailurePenalty]; canceled ones
// (the loser of a backup request) give no sample.
//
// An instance that has not answered yet costs nothing while idle and the
// failure penalty per call in flight: a new instance takes calls one at a
// time until its first reply. Weights are not used, except that instances
// with weight <= 0 get no traffic.
//
// The balancer keeps its per-instance state (calls in flight, latency)
// keyed by address and learns outcomes through loadbalance.Feedback: give
// each client its own value. A pick costs one random draw and a little
// arithmetic, with no lock, no clock read and no allocation; a Done reads
// the clock and takes the instance's lock.
func NewP2C(opts ...P2COption) lb.Balancer {
	c := p2cConfig{decay: float64(DefaultDecay), penalty: float64(DefaultFailurePenalty), classify: Classify}
	for _, o := range opts {
		o.applyP2C(&c)
	}
	return &p2c{cfg: c, epoch: time.Now()}
}

// sampleKeep bounds how much of the estimate a new sample keeps: each
// sample weighs at least 1/16, so an instance that answers many calls has
// an estimate that follows its last few dozen replies whatever the decay
// time. Without it, at thousands of calls a second, one timeout counted as
// the failure penalty (1 s) would outweigh the next hundreds of 1 ms
// replies for about a minute (the decay time constant times ln(1000)), and
// a client-side stall that times out calls on most instances would send
// nearly all traffic to the one that escaped, slow or not.
const sampleKeep = 1 - 1.0/16

// clockGrain is how far behind the latest Done the clock picks read may
// be: far below any decay time constant that makes sense.
const clockGrain = 100 * time.Microsecond

type p2c struct {
	cfg   p2cConfig
	epoch time.Time // monotonic clock origin
	peers registry[peer]
	// clock is the time of a recent Done (within clockGrain of the
	// latest), ns since epoch: picks read it instead of the clock. It is
	// stale only while no call ends, and then every estimate is equally
	// stale, so the comparison of two holds.
	clock atomic.Int64
}

// peer is the balancer's state of one instance.
type peer struct {
	inflight atomic.Int64
	ewma     atomic.Uint64 // float64 bits, ns; 0 until the first sample
	stamp    atomic.Int64  // ns since epoch of the last sample
	mu       sync.Mutex    // serialises updates of ewma and stamp
}

// Name returns "p2c_peak_ewma".
func (b *p2c) Name() string { return "p2c_peak_ewma" }

// OnChange implements loadbalance.ChangeObserver: it forgets removed
// instances.
func (b *p2c) OnChange(_ string, ch discovery.Change) { b.peers.remove(ch.Removed) }

// Picker returns a picker over the instances of res with positive weight.
func (b *p2c) Picker(res discovery.Result) lb.Picker {
	ins := usable(res.Instances)
	return &p2cPicker{b: b, ins: ins, peers: b.peers.ensure(ins)}
}

func (b *p2c) now() int64 { return int64(time.Since(b.epoch)) }

type p2cPicker struct {
	b     *p2c
	ins   []discovery.Instance
	peers []*peer
}

// cost is p's latency estimate, decayed to now, times its load.
func (b *p2c) cost(p *peer, now int64) float64 {
	n := float64(p.inflight.Load())
	e := math.Float64frombits(p.ewma.Load())
	if e == 0 {
		return n * b.cfg.penalty
	}
	if el := now - p.stamp.Load(); el > 0 {
		e *= decayFactor(float64(el), b.cfg.decay)
	}
	return e * (n + 1)
}

// decayFactor is exp(-elapsed/tau), skipping the exponential when elapsed
// is negligible next to tau.
func decayFactor(elapsed, tau float64) float64 {
	if elapsed < tau/4096 {
		return 1 - elapsed/tau
	}
	return math.Exp(-elapsed / tau)
}

func (p *p2cPicker) Next(context.Context) discovery.Instance {
	var i int
	switch n := len(p.ins); n {
	case 0:
		return nil
	case 1:
	default:
		r := rand.Uint64()
		i = bounded(uint32(r>>32), n)
		j := bounded(uint32(r), n-1)
		if j >= i {
			j++
		}
		now := p.b.clock.Load()
		ci, cj := p.b.cost(p.peers[i], now), p.b.cost(p.peers[j], now)
		if cj < ci || (cj == ci && p.peers[j].inflight.Load() < p.peers[i].inflight.Load()) {
			i = j
		}
	}
	p.peers[i].inflight.Add(1)
	return p.ins[i]
}

// Done implements loadbalance.Feedback: the call leaves the instance's
// load and its latency (at least the failure penalty if it failed) goes
// into the instance's estimate.
func (p *p2cPicker) Done(_ context.Context, in discovery.Instance, info lb.DoneInfo) {
	b := p.b
	pe := b.peers.get(in.Address())
	if pe == nil {
		return // removed meanwhile
	}
	if pe.inflight.Add(-1) < 0 {
		pe.inflight.Add(1) // a Done for a state recreated since its pick
	}
	rtt := float64(info.Latency)
	switch b.cfg.classify(info.Err) {
	case Ignored:
		return
	case Failure:
		rtt = max(rtt, b.cfg.penalty)
	}
	rtt = max(rtt, 1) // 0 means "no sample yet"
	now := b.now()
	if now-b.clock.Load() > int64(clockGrain) { // keep the shared line mostly read-only
		b.clock.Store(now)
	}
	pe.mu.Lock()
	e := math.Float64frombits(pe.ewma.Load())
	if e != 0 {
		w := 1.0
		if el := now - pe.stamp.Load(); el > 0 {
			w = decayFactor(float64(el), b.cfg.decay)
		}
		w = min(w, sampleKeep) // a busy instance follows its recent replies
		if e *= w; rtt < e {
			e += rtt * (1 - w)
		} else {
			e = rtt
		}
	} else {
		e = rtt
	}
	pe.ewma.Store(math.Float64bits(e))
	pe.stamp.Store(now)
	pe.mu.Unlock()
}
