package loadbalance

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/discovery"
	lb "github.com/skiffrpc/skiff/core/loadbalance"
)

// Defaults of [NewOutlierDetector], Envoy's.
const (
	// DefaultConsecutiveFailures is how many failures in a row eject an
	// instance.
	DefaultConsecutiveFailures = 5
	// DefaultBaseEjection is how long a first ejection lasts.
	DefaultBaseEjection = 30 * time.Second
	// DefaultMaxEjection caps how long an ejection lasts.
	DefaultMaxEjection = 300 * time.Second
	// DefaultMaxEjectionPercent is the most instances ejected at once, in
	// percent of the instance set (at least one instance may always be
	// ejected, and never the last one).
	DefaultMaxEjectionPercent = 10
)

// Reasons of an ejection, in [OutlierEvent].Reason.
const (
	ReasonConsecutiveFailures = "consecutive_failures"
	ReasonSuccessRate         = "success_rate"
)

// OutlierEventKind says what happened to an instance.
type OutlierEventKind uint8

// Kinds of [OutlierEvent].
const (
	// Ejected: the instance gets no calls until Backoff has passed.
	Ejected OutlierEventKind = iota + 1
	// Returned: the instance's ejection ended; it gets calls again.
	Returned
	// EjectionSkipped: the instance should have been ejected, but as many
	// instances as the maximum percentage allows already are.
	EjectionSkipped
)

// String returns "ejected", "returned" or "ejection_skipped".
func (k OutlierEventKind) String() string {
	switch k {
	case Ejected:
		return "ejected"
	case Returned:
		return "returned"
	case EjectionSkipped:
		return "ejection_skipped"
	}
	return "unknown"
}

// OutlierEvent describes an ejection, a return or a skipped ejection.
type OutlierEvent struct {
	// Kind is what happened.
	Kind OutlierEventKind
	// Address is the instance's address.
	Address string
	// Reason is ReasonConsecutiveFailures or ReasonSuccessRate (Ejected
	// and EjectionSkipped only).
	Reason string
	// Backoff is how long the ejection lasts (Ejected only).
	Backoff time.Duration
}

// OutlierStats counts what a detector did.
type OutlierStats struct {
	// Ejections counts the ejections, Returns the instances that came
	// back, Skipped the ejections the maximum percentage prevented.
	Ejections, Returns, Skipped uint64
	// Ejected is how many instances are ejected now (as for
	// OutlierDetector.Ejected).
	Ejected int
}

// OutlierOption configures [NewOutlierDetector].
type OutlierOption interface{ applyOutlier(*outlierConfig) }

type outlierOptionFunc func(*outlierConfig)

func (f outlierOptionFunc) applyOutlier(c *outlierConfig) { f(c) }

type outlierConfig struct {
	consecutive int
	rate        float64
	rateMin     int
	rateWindow  time.Duration
	base, max   time.Duration
	maxPercent  int
	classify    func(error) Outcome
	observer    func(OutlierEvent)
	logger      *slog.Logger
}

// WithConsecutiveFailures ejects an instance after n failures in a row
// (default [DefaultConsecutiveFailures]); n <= 0 turns the rule off.
func WithConsecutiveFailures(n int) OutlierOption {
	return outlierOptionFunc(func(c *outlierConfig) { c.consecutive = max(n, 0) })
}

// WithSuccessRate ejects an instance whose success rate falls below
// minRate (0 to 1) once it has had at least minRequests outcomes in the
// current window; counts restart every window. Off by default: a fixed
// threshold cannot tell one sick instance from a sick service, which the
// maximum ejection percentage then has to contain. minRequests < 1 counts
// as 1 and window <= 0 as 10 s.
func WithSuccessRate(minRate float64, minRequests int, window time.Duration) OutlierOption {
	return outlierOptionFunc(func(c *outlierConfig) {
		if window <= 0 {
			window = 10 * time.Second
		}
		c.rate, c.rateMin, c.rateWindow = minRate, max(minRequests, 1), window
	})
}

// WithEjectionBackoff sets how long ejections last: base for an
// instance's first ejection, doubling with each ejection that follows its
// return, up to maxDuration (defaults [DefaultBaseEjection] and
// [DefaultMaxEjection]). Each base period an instance stays in service
// after its return takes one doubling back. Values <= 0 keep the
// defaults; maxDuration below base counts as base.
func WithEjectionBackoff(base, maxDuration time.Duration) OutlierOption {
	return outlierOptionFunc(func(c *outlierConfig) {
		if base > 0 {
			c.base = base
		}
		if maxDuration > 0 {
			c.max = maxDuration
		}
	})
}

// WithMaxEjectionPercent caps the instances ejected at once at p percent
// of the instance set, rounded down (default
// [DefaultMaxEjectionPercent]); one instance may always be ejected, and
// the last instance never is. p <= 0 keeps the default.
func WithMaxEjectionPercent(p int) OutlierOption {
	return outlierOptionFunc(func(c *outlierConfig) {
		if p > 0 {
			c.maxPercent = min(p, 100)
		}
	})
}

// WithOutlierClassifier sets how an attempt's error counts (default
// [Classify]): Failure counts against the instance, Success for it, and
// Ignored not at all.
func WithOutlierClassifier(f func(error) Outcome) OutlierOption {
	return outlierOptionFunc(func(c *outlierConfig) {
		if f != nil {
			c.classify = f
		}
	})
}

// WithOutlierObserver sets a function told of every ejection, return and
// skipped ejection, after the fact and outside the detector's locks. It
// runs on the call path of the attempt that caused the event (or of the
// pick that noticed a return) and should be quick.
func WithOutlierObserver(f func(OutlierEvent)) OutlierOption {
	return outlierOptionFunc(func(c *outlierConfig) { c.observer = f })
}

// WithOutlierLogger logs ejections at level Warn and returns at level
// Info to l (default: no logging).
func WithOutlierLogger(l *slog.Logger) OutlierOption {
	return outlierOptionFunc(func(c *outlierConfig) { c.logger = l })
}

// OutlierDetector ejects instances that fail (outlier ejection, as Envoy
// and Finagle have it). It wraps a client's balancer (Wrap, for
// client.WithBalancerWrapper): it watches the outcome of every attempt
// through loadbalance.Feedback, and the wrapped balancer picks only among
// the instances in service. An instance is ejected after a number of
// failures in a row ([WithConsecutiveFailures]) or when its success rate
// falls too low ([WithSuccessRate]); it returns after a backoff that grows
// with each new ejection ([WithEjectionBackoff]), and no more than a set
// share of the instances is ejected at once ([WithMaxEjectionPercent]).
// Declared exceptions and business errors are successes; see [Classify].
//
// Ejections and returns rebuild the wrapped balancer's picker (at the
// first pick after the event); other picks cost three atomic loads more
// than the wrapped picker's, and a clock read while an instance is
// ejected.
// The detector keeps its state per address: give each client its own.
// Safe for concurrent use.
type OutlierDetector struct {
	cfg   outlierConfig
	epoch time.Time
	hosts registry[host]

	mu         sync.Mutex    // serialises ejections and returns
	version    atomic.Uint64 // bumped at each ejection and return
	nextReturn atomic.Int64  // ns since epoch of the earliest return; 0 when none is ejected

	ejections, returns, skipped atomic.Uint64
	ejected                     atomic.Int64
}

// host is the detector's state of one instance.
type host struct {
	consecutive  atomic.Int64 // failures in a row
	mu           sync.Mutex   // guards the fields below
	succ, total  int
	windowStart  int64
	ejections    int          // doublings of the next backoff
	lastReturn   int64        // ns since epoch; 0 if never ejected
	ejectedUntil atomic.Int64 // ns since epoch; 0 while in service
}

// NewOutlierDetector returns a detector with the options applied.
func NewOutlierDetector(opts ...OutlierOption) *OutlierDetector {
	c := outlierConfig{
		consecutive: DefaultConsecutiveFailures,
		base:        DefaultBaseEjection,
		max:         DefaultMaxEjection,
		maxPercent:  DefaultMaxEjectionPercent,
		classify:    Classify,
	}
	for _, o := range opts {
		o.applyOutlier(&c)
	}
	c.max = max(c.max, c.base)
	return &OutlierDetector{cfg: c, epoch: time.Now()}
}

// Option returns the client option that installs d around the client's
// balancer: client.WithBalancerWrapper(d.Wrap).
func (d *OutlierDetector) Option() client.Option { return client.WithBalancerWrapper(d.Wrap) }

// Wrap returns b with ejected instances left out of its pickers. The
// result passes on b's capabilities: loadbalance.Feedback (each Done goes
// on to b's current picker, so b must keep its per-instance state in the
// balancer, as core's loadbalance docs ask), loadbalance.ErrorPicker and
// loadbalance.ChangeObserver.
func (d *OutlierDetector) Wrap(b lb.Balancer) lb.Balancer { return &ejecting{d: d, inner: b} }

// Stats returns the detector's counts.
func (d *OutlierDetector) Stats() OutlierStats {
	return OutlierStats{Ejections: d.ejections.Load(), Returns: d.returns.Load(),
		Skipped: d.skipped.Load(), Ejected: int(d.ejected.Load())}
}

// Ejected reports whether the instance at addr is ejected. An ejection
// whose backoff has passed counts until a pick notices it and returns the
// instance.
func (d *OutlierDetector) Ejected(addr string) bool {
	h := d.hosts.get(addr)
	return h != nil && h.ejectedUntil.Load() != 0
}

func (d *OutlierDetector) now() int64 { return int64(time.Since(d.epoch)) }

// record counts the outcome of an attempt on addr and ejects it when a
// rule says so.
func (d *OutlierDetector) record(addr string, err error) {
	o := d.cfg.classify(err)
	if o == Ignored {
		return
	}
	h := d.hosts.get(addr)
	if h == nil || h.ejectedUntil.Load() != 0 {
		return // removed, or ejected: late outcomes do not count
	}
	reason := ""
	if o == Success {
		if h.consecutive.Load() != 0 { // no write while healthy: the line stays shared
			h.consecutive.Store(0)
		}
	} else if n := h.consecutive.Add(1); d.cfg.consecutive > 0 && n >= int64(d.cfg.consecutive) {
		reason = ReasonConsecutiveFailures
	}
	if d.cfg.rate > 0 {
		now := d.now()
		h.mu.Lock()
		if now-h.windowStart >= int64(d.cfg.rateWindow) {
			h.succ, h.total, h.windowStart = 0, 0, now
		}
		h.total++
		if o == Success {
			h.succ++
		}
		if reason == "" && h.total >= d.cfg.rateMin && float64(h.succ) < d.cfg.rate*float64(h.total) {
			reason = ReasonSuccessRate
		}
		h.mu.Unlock()
	}
	if reason != "" {
		d.eject(addr, h, reason, d.now())
	}
}

// eject takes h out of service unless the maximum percentage is reached.
func (d *OutlierDetector) eject(addr string, h *host, reason string, now int64) {
	d.mu.Lock()
	n, out := 0, 0
	d.hosts.each(func(_ string, o *host) {
		n++
		if o.ejectedUntil.Load() != 0 {
			out++
		}
	})
	limit := min(max(1, n*d.cfg.maxPercent/100), n-1)
	h.mu.Lock()
	if h.ejectedUntil.Load() != 0 { // another attempt ejected it first
		h.mu.Unlock()
		d.mu.Unlock()
		return
	}
	h.consecutive.Store(0)
	h.succ, h.total, h.windowStart = 0, 0, now
	ev := OutlierEvent{Kind: EjectionSkipped, Address: addr, Reason: reason}
	if out < limit {
		k := h.ejections
		if h.lastReturn != 0 {
			k -= int((now - h.lastReturn) / int64(d.cfg.base)) // healthy time earns doublings back
		}
		k = max(k, 0)
		backoff := d.cfg.base
		for i := 0; i < k && backoff < d.cfg.max; i++ {
			backoff *= 2
		}
		backoff = min(backoff, d.cfg.max)
		h.ejections = k + 1
		until := now + int64(backoff)
		h.ejectedUntil.Store(until)
		if nr := d.nextReturn.Load(); nr == 0 || until < nr {
			d.nextReturn.Store(until)
		}
		d.version.Add(1)
		d.ejections.Add(1)
		d.ejected.Add(1)
		ev.Kind, ev.Backoff = Ejected, backoff
	} else {
		d.skipped.Add(1)
	}
	h.mu.Unlock()
	d.mu.Unlock()
	d.emit(ev)
}

// expire returns the instances whose ejection has ended.
func (d *OutlierDetector) expire() {
	d.mu.Lock()
	now := d.now()
	if nr := d.nextReturn.Load(); nr == 0 || now < nr {
		d.mu.Unlock()
		return // another pick got here first
	}
	var back []string
	var next int64
	d.hosts.each(func(addr string, h *host) {
		until := h.ejectedUntil.Load()
		switch {
		case until == 0:
		case until <= now:
			h.mu.Lock()
			h.ejectedUntil.Store(0)
			h.lastReturn = now
			h.consecutive.Store(0)
			h.succ, h.total, h.windowStart = 0, 0, now
			h.mu.Unlock()
			back = append(back, addr)
		case next == 0 || until < next:
			next = until
		}
	})
	d.nextReturn.Store(next)
	if len(back) > 0 {
		d.returns.Add(uint64(len(back)))
		d.ejected.Add(-int64(len(back)))
		d.version.Add(1)
	}
	d.mu.Unlock()
	for _, addr := range back {
		d.emit(OutlierEvent{Kind: Returned, Address: addr})
	}
}

// forget drops the state of removed instances.
func (d *OutlierDetector) forget(removed []discovery.Instance) {
	if len(removed) == 0 {
		return
	}
	d.mu.Lock()
	for _, in := range removed {
		if h := d.hosts.get(in.Address()); h != nil && h.ejectedUntil.Load() != 0 {
			d.ejected.Add(-1)
		}
	}
	d.hosts.remove(removed)
	d.version.Add(1)
	d.mu.Unlock()
}

func (d *OutlierDetector) emit(ev OutlierEvent) {
	if l := d.cfg.logger; l != nil {
		switch ev.Kind {
		case Ejected:
			l.Warn("outlier ejected", "address", ev.Address, "reason", ev.Reason, "backoff", ev.Backoff)
		case Returned:
			l.Info("outlier returned", "address", ev.Address)
		case EjectionSkipped:
			l.Warn("outlier not ejected: too many ejected already", "address", ev.Address, "reason", ev.Reason)
		}
	}
	if f := d.cfg.observer; f != nil {
		f(ev)
	}
}

// ejecting is a balancer wrapped by an OutlierDetector.
type ejecting struct {
	d     *OutlierDetector
	inner lb.Balancer
}

// Name returns "outlier_ejection(<wrapped balancer's name>)".
func (b *ejecting) Name() string { return "outlier_ejection(" + b.inner.Name() + ")" }

// OnChange implements loadbalance.ChangeObserver: it forgets removed
// instances and tells the wrapped balancer.
func (b *ejecting) OnChange(service string, ch discovery.Change) {
	b.d.forget(ch.Removed)
	if co, ok := b.inner.(lb.ChangeObserver); ok {
		co.OnChange(service, ch)
	}
}

// Picker returns a picker over the instances of res that are in service.
func (b *ejecting) Picker(res discovery.Result) lb.Picker {
	p := &ejectingPicker{b: b, res: res, hosts: b.d.hosts.ensure(res.Instances)}
	p.rebuild()
	return p
}

type ejectingPicker struct {
	b     *ejecting
	res   discovery.Result
	hosts []*host // per instance of res

	mu  sync.Mutex // serialises rebuilds
	cur atomic.Pointer[innerPicker]
}

// innerPicker is a picker of the wrapped balancer over the instances in
// service when the detector was at version.
type innerPicker struct {
	version  uint64
	picker   lb.Picker
	errPick  lb.ErrorPicker
	feedback lb.Feedback
}

func (p *ejectingPicker) rebuild() {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.b.d
	v := d.version.Load()
	if cur := p.cur.Load(); cur != nil && cur.version == v {
		return
	}
	res := p.res
	for i, h := range p.hosts {
		if h.ejectedUntil.Load() == 0 {
			continue
		}
		// Some are ejected: pick among the others.
		in := make([]discovery.Instance, 0, len(p.hosts)-1)
		in = append(in, p.res.Instances[:i]...)
		for j := i + 1; j < len(p.hosts); j++ {
			if p.hosts[j].ejectedUntil.Load() == 0 {
				in = append(in, p.res.Instances[j])
			}
		}
		if len(in) > 0 {
			res = discovery.Result{Instances: in}
		}
		break
	}
	ip := &innerPicker{version: v, picker: p.b.inner.Picker(res)}
	ip.errPick, _ = ip.picker.(lb.ErrorPicker)
	ip.feedback, _ = ip.picker.(lb.Feedback)
	p.cur.Store(ip)
}

// current returns the wrapped picker, rebuilt first if an instance was
// ejected or returned since it was built.
func (p *ejectingPicker) current() *innerPicker {
	d := p.b.d
	if nr := d.nextReturn.Load(); nr != 0 && d.now() >= nr {
		d.expire()
	}
	ip := p.cur.Load()
	if ip.version != d.version.Load() {
		p.rebuild()
		ip = p.cur.Load()
	}
	return ip
}

// Next implements loadbalance.Picker.
func (p *ejectingPicker) Next(ctx context.Context) discovery.Instance {
	in, _ := p.Pick(ctx)
	return in
}

// Pick implements loadbalance.ErrorPicker, passing on the wrapped
// picker's error when it has that capability.
func (p *ejectingPicker) Pick(ctx context.Context) (discovery.Instance, error) {
	ip := p.current()
	if ip.errPick != nil {
		return ip.errPick.Pick(ctx)
	}
	return ip.picker.Next(ctx), nil
}

// Done implements loadbalance.Feedback: the outcome counts for or against
// the instance, then goes on to the wrapped picker.
func (p *ejectingPicker) Done(ctx context.Context, in discovery.Instance, info lb.DoneInfo) {
	if fb := p.cur.Load().feedback; fb != nil {
		fb.Done(ctx, in, info)
	}
	p.b.d.record(in.Address(), info.Err)
}
