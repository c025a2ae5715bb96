package retry

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/skiffrpc/skiff/core/status"
)

// MaxAttempts is the most attempts a call makes, the first included,
// whatever a policy asks for.
const MaxAttempts = 5

// DefaultAttempts is the attempt count of a policy that leaves MaxAttempts
// at 0: the first attempt and two retries (Kitex's default).
const DefaultAttempts = 3

// Policy says how the calls of a method are retried. The zero value is a
// failure retry with the defaults: up to DefaultAttempts attempts, timeouts
// and lost connections retried (for idempotent methods), no backoff, a new
// instance for each retry, the default budget, chain stop.
//
// A backup request is enabled by BackupDelay or BackupPercentile: a call
// that has no reply after the delay sends another attempt, and the first
// reply wins. With Backup only (BackupOnly), the first reply ends the call
// whatever it is, as Kitex's backup request does; otherwise (mixed) a
// failed attempt is also retried at once, as a failure retry.
//
// A policy is copied when it is installed; changing it afterwards has no
// effect (install it again with Retryer.SetPolicy).
type Policy struct {
	// MaxAttempts bounds the attempts of a call, the first included, of
	// every kind: failure retries, retries of requests that were not sent,
	// backup requests (default DefaultAttempts; values above MaxAttempts
	// are MaxAttempts; 1 turns retries off, leaving only the client's own
	// transparent retry of a stale pooled connection).
	MaxAttempts int
	// MaxDuration bounds the whole call: no retry or backup request starts
	// after it, nor one that would start after it once its backoff is
	// waited (0: no bound besides the context's deadline).
	MaxDuration time.Duration
	// Backoff is the wait before each failure retry (nil: none). Backup
	// requests do not wait for it.
	Backoff Backoff
	// SameInstance sends retries and backup requests to the instance of
	// the first attempt instead of one not tried yet.
	SameInstance bool
	// NoTimeoutRetry stops retries of attempts that timed out (Kitex's
	// NotRetryForTimeout). By default they are retried.
	NoTimeoutRetry bool
	// NoConnLostRetry stops retries of attempts whose connection failed
	// after the request was sent (status.ErrConnLost). By default they are
	// retried.
	NoConnLostRetry bool
	// Codes are the status codes of remote errors (errors the server
	// answered with) that are retried, such as status.Unavailable. None by
	// default.
	Codes []status.Code
	// RetryIf, when set, is asked about every finished attempt that the
	// rules above would not retry: resp is the attempt's result (filled
	// when err is nil), err its error. Returning true retries it. It runs
	// on the call's path and must be fast and safe for concurrent use.
	RetryIf func(ctx context.Context, resp any, err error) bool

	// BackupDelay sends a backup request when the call has no reply after
	// this long (0 with BackupPercentile 0: no backup requests).
	BackupDelay time.Duration
	// BackupPercentile, between 0 and 1 (such as 0.95), sends the backup
	// request after that percentile of the method's recent attempt
	// latencies instead, once enough are known (BackupDelay until then, or
	// DefaultBackupDelay when BackupDelay is 0).
	BackupPercentile float64
	// BackupOnly ends a call with a backup request at its first reply,
	// success or failure (Kitex's backup request). By default a failure is
	// also retried (Kitex's mixed retry).
	BackupOnly bool

	// Budget bounds retries and backup requests to a share of the calls
	// (the zero value is DefaultBudget).
	Budget Budget
	// Circuit stops retries while the method's attempts fail too often
	// (Kitex's retry circuit breaker); nil: off.
	Circuit *Circuit
	// NoChainStop retries even a request that is itself a retry of an
	// upstream call (by default such a request is not retried, so a chain
	// of services does not multiply retries).
	NoChainStop bool
}

// DefaultBackupDelay is the backup delay of a policy with a
// BackupPercentile but no BackupDelay, until enough latencies are known.
const DefaultBackupDelay = 10 * time.Millisecond

// Budget bounds retries: each call of a method adds Ratio of a token, up
// to Burst tokens, and MinPerSecond tokens are added every second; each
// retry or backup request spends one, and none starts without one. So
// retries stay within Ratio of the calls plus MinPerSecond per second,
// after a first burst of at most Burst. Budgets are kept per target
// service and method. Requests that were not sent are retried without a
// token: they cost the servers nothing.
type Budget struct {
	// Ratio is the share of calls that may be retried (0: the default,
	// 0.1; negative: none, only MinPerSecond).
	Ratio float64
	// MinPerSecond is the retries allowed every second whatever the
	// traffic, so a method with few calls can still retry (0: the
	// default, 2; negative: none).
	MinPerSecond float64
	// Burst is the most tokens saved up (0: the default, 10; at least 1).
	Burst float64
	// Off turns the budget off: only the attempt count bounds retries.
	Off bool
}

// DefaultBudget is the budget of a policy that sets none.
var DefaultBudget = Budget{Ratio: 0.1, MinPerSecond: 2, Burst: 10}

// Circuit stops the retries of a method while more than ErrorRate of its
// attempts failed in the last Window, once MinSamples attempts were seen
// in it (Kitex's retry circuit breaker). Requests that were not sent are
// still retried.
type Circuit struct {
	// ErrorRate is the failure share above which retries stop (default
	// 0.1).
	ErrorRate float64
	// MinSamples is the fewest attempts in the window before the circuit
	// can open (default 10).
	MinSamples int
	// Window is the span the rate is measured over (default 10 s).
	Window time.Duration
}

// Backoff is the wait before a failure retry.
type Backoff interface {
	// Delay returns the wait before retry n (1 for the first retry). It
	// must be safe for concurrent use.
	Delay(n int) time.Duration
}

// FixedBackoff waits d before every retry.
func FixedBackoff(d time.Duration) Backoff { return fixed(d) }

type fixed time.Duration

func (f fixed) Delay(int) time.Duration { return time.Duration(f) }

// RandomBackoff waits a uniformly random time in [lo, hi) before every
// retry.
func RandomBackoff(lo, hi time.Duration) Backoff {
	if hi < lo {
		lo, hi = hi, lo
	}
	return random{lo, hi}
}

type random struct{ min, max time.Duration }

func (r random) Delay(int) time.Duration {
	if r.max <= r.min {
		return r.min
	}
	return r.min + rand.N(r.max-r.min)
}

// ExponentialBackoff waits base before the first retry and doubles the
// wait for each next one, up to limit (no bound when limit <= 0). jitter,
// between 0 and 1, spreads each wait at random over [wait*(1-jitter),
// wait]: 1 is the "full jitter" that best spreads clients retrying at
// once.
func ExponentialBackoff(base, limit time.Duration, jitter float64) Backoff {
	jitter = min(max(jitter, 0), 1)
	return exponential{base: base, max: limit, jitter: jitter}
}

type exponential struct {
	base, max time.Duration
	jitter    float64
}

func (e exponential) Delay(n int) time.Duration {
	d := e.base
	for i := 1; i < n && (e.max <= 0 || d < e.max); i++ {
		d *= 2
	}
	if e.max > 0 && d > e.max {
		d = e.max
	}
	if e.jitter > 0 && d > 0 {
		d -= time.Duration(e.jitter * rand.Float64() * float64(d))
	}
	return d
}

// policy is an installed Policy with its defaults applied.
type policy struct {
	Policy
	backup bool
}

func normalize(p Policy) *policy {
	n := &policy{Policy: p}
	switch {
	case n.MaxAttempts <= 0:
		n.MaxAttempts = DefaultAttempts
	case n.MaxAttempts > MaxAttempts:
		n.MaxAttempts = MaxAttempts
	}
	n.Codes = append([]status.Code(nil), p.Codes...)
	if !n.Budget.Off {
		// Each field left at zero takes its default, as the fields' docs
		// say; a negative Ratio or MinPerSecond means none.
		b := &n.Budget
		switch {
		case b.Ratio == 0:
			b.Ratio = DefaultBudget.Ratio
		case b.Ratio < 0:
			b.Ratio = 0
		}
		switch {
		case b.MinPerSecond == 0:
			b.MinPerSecond = DefaultBudget.MinPerSecond
		case b.MinPerSecond < 0:
			b.MinPerSecond = 0
		}
		if b.Burst == 0 {
			b.Burst = DefaultBudget.Burst
		}
		if b.Burst < 1 {
			b.Burst = 1
		}
	}
	if p.Circuit != nil {
		c := *p.Circuit
		if c.ErrorRate <= 0 {
			c.ErrorRate = 0.1
		}
		if c.MinSamples <= 0 {
			c.MinSamples = 10
		}
		if c.Window <= 0 {
			c.Window = 10 * time.Second
		}
		n.Circuit = &c
	}
	n.BackupPercentile = min(max(n.BackupPercentile, 0), 1)
	n.backup = n.BackupDelay > 0 || n.BackupPercentile > 0
	if n.backup && n.BackupDelay <= 0 {
		n.BackupDelay = DefaultBackupDelay
	}
	return n
}

func (p *policy) retriesCode(c status.Code) bool {
	for _, x := range p.Codes {
		if x == c {
			return true
		}
	}
	return false
}
