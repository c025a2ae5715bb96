package balance

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/status"
)

// LeastLatencyParams configures [NewLeastLatency].
type LeastLatencyParams struct {
	// Alpha is the weight of a new latency sample in the moving average,
	// in (0, 1]; default 0.3.
	Alpha float64
	// Decay is the time constant with which an instance's average fades
	// while it gets no traffic, so a once-slow instance is tried again;
	// default 1 s.
	Decay time.Duration
}

// LeastLatency is a balancer that prefers the instance with the lowest
// exponentially weighted moving average of attempt latencies, weighed by
// its attempts in flight. Each pick compares two instances drawn at
// random and takes the better one; an instance not yet measured scores 0,
// so every instance gets tried. It is safe for concurrent use.
type LeastLatency struct {
	p LeastLatencyParams

	mu    sync.Mutex
	stats map[string]*latStats // by address
}

var (
	_ loadbalance.Balancer       = (*LeastLatency)(nil)
	_ loadbalance.ChangeObserver = (*LeastLatency)(nil)
	_ loadbalance.Feedback       = (*latencyPicker)(nil)
)

// NewLeastLatency returns a least-latency balancer; zero fields of p take
// their defaults.
func NewLeastLatency(p LeastLatencyParams) *LeastLatency {
	if p.Alpha <= 0 || p.Alpha > 1 {
		p.Alpha = 0.3
	}
	if p.Decay <= 0 {
		p.Decay = time.Second
	}
	return &LeastLatency{p: p, stats: map[string]*latStats{}}
}

// Name implements loadbalance.Balancer.
func (b *LeastLatency) Name() string { return "skiffext.least_latency" }

// Picker implements loadbalance.Balancer. Instances with weight <= 0 get no
// traffic.
func (b *LeastLatency) Picker(res discovery.Result) loadbalance.Picker {
	p := &latencyPicker{b: b}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, in := range res.Instances {
		if in.Weight() <= 0 {
			continue
		}
		st := b.stats[in.Address()]
		if st == nil {
			st = &latStats{}
			b.stats[in.Address()] = st
		}
		p.ins = append(p.ins, in)
		p.st = append(p.st, st)
	}
	return p
}

// OnChange implements loadbalance.ChangeObserver: the averages of removed
// instances are dropped.
func (b *LeastLatency) OnChange(_ string, ch discovery.Change) {
	b.mu.Lock()
	for _, in := range ch.Removed {
		delete(b.stats, in.Address())
	}
	b.mu.Unlock()
}

// Average returns the current moving average of the instance at addr, and
// whether it has been measured.
func (b *LeastLatency) Average(addr string) (time.Duration, bool) {
	b.mu.Lock()
	st := b.stats[addr]
	b.mu.Unlock()
	if st == nil {
		return 0, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return time.Duration(st.ewma), st.measured
}

// latStats is one instance's record.
type latStats struct {
	inflight atomic.Int64

	mu       sync.Mutex
	ewma     float64 // nanoseconds
	last     time.Time
	measured bool
}

// score is the instance's expected cost of one more call.
func (s *latStats) score(now time.Time, decay time.Duration) float64 {
	s.mu.Lock()
	ewma, last := s.ewma, s.last
	s.mu.Unlock()
	if idle := now.Sub(last); idle > 0 && ewma > 0 {
		ewma *= math.Exp(-float64(idle) / float64(decay))
	}
	return ewma * float64(s.inflight.Load()+1)
}

func (s *latStats) observe(now time.Time, latency time.Duration, alpha float64, decay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.measured {
		s.ewma, s.measured = float64(latency), true
	} else {
		if idle := now.Sub(s.last); idle > 0 {
			s.ewma *= math.Exp(-float64(idle) / float64(decay))
		}
		s.ewma += alpha * (float64(latency) - s.ewma)
	}
	s.last = now
}

type latencyPicker struct {
	b   *LeastLatency
	ins []discovery.Instance
	st  []*latStats
}

// Next picks the better of two instances drawn at random.
func (p *latencyPicker) Next(context.Context) discovery.Instance {
	switch len(p.ins) {
	case 0:
		return nil
	case 1:
		p.st[0].inflight.Add(1)
		return p.ins[0]
	}
	i := rand.IntN(len(p.ins))
	j := rand.IntN(len(p.ins) - 1)
	if j >= i {
		j++
	}
	now := time.Now()
	if p.st[j].score(now, p.b.p.Decay) < p.st[i].score(now, p.b.p.Decay) {
		i = j
	}
	p.st[i].inflight.Add(1)
	return p.ins[i]
}

// Done implements loadbalance.Feedback: it ends the attempt in flight and
// adds its latency to the instance's average; an attempt the caller
// canceled is not measured. The record is found by address in the
// balancer, so Done works on any picker of b (a wrapper such as Breaker
// may pass the outcome to a newer picker than the one that picked).
func (p *latencyPicker) Done(_ context.Context, in discovery.Instance, info loadbalance.DoneInfo) {
	p.b.mu.Lock()
	st := p.b.stats[in.Address()]
	p.b.mu.Unlock()
	if st == nil {
		return // removed meanwhile
	}
	st.inflight.Add(-1)
	if !errors.Is(info.Err, status.ErrCanceled) {
		st.observe(time.Now(), info.Latency, p.b.p.Alpha, p.b.p.Decay)
	}
}
