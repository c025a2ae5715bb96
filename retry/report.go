package retry

import (
	"context"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
)

// TryKind says why an attempt was made.
type TryKind uint8

// The kinds of attempts.
const (
	// First is a call's first attempt.
	First TryKind = iota
	// Retry is a failure retry.
	Retry
	// Hedge is a backup request.
	Hedge
)

var tryKindNames = [...]string{"first", "retry", "hedge"}

// String returns "first", "retry" or "hedge".
func (k TryKind) String() string {
	if int(k) < len(tryKindNames) {
		return tryKindNames[k]
	}
	return "unknown"
}

// Try is one attempt of a call that was retried or hedged.
type Try struct {
	// Kind says why it was made.
	Kind TryKind
	// Address is where it went ("" when it failed before an instance was
	// picked, or, for a backup request, when it was still running when
	// the call returned).
	Address string
	// Err is its outcome (nil on success; for an attempt still running
	// when the call returned, nil with Abandoned set).
	Err error
	// Latency is how long it took, or had run when the call returned.
	Latency time.Duration
	// Won is set on the attempt whose outcome the call returned.
	Won bool
	// Abandoned is set on a backup request's loser that was still running
	// when the call returned.
	Abandoned bool
}

// Report is what the retry middleware did for one call. Calls with a
// backup policy have one; other calls only when they made more than one
// attempt, a stop condition kept them from retrying, or a fallback ran
// (so calls that succeed at once allocate nothing). A report is complete
// once the call has returned; read it then (a tracer's Finish), not while
// the call runs.
type Report struct {
	// Tries are the call's attempts in the order they started; empty when
	// the call made one attempt.
	Tries []Try
	// Stop names the reason the call did not retry further, if a stop
	// condition (rather than success or the kind of failure) ended it:
	// "attempts", "budget", "circuit", "chain", "deadline", "idempotency"
	// or "duration".
	Stop string
	// Fallback is set when the call's failure went to a fallback.
	Fallback bool
}

// ReportFrom returns the report of the call whose context (or
// callinfo.Info) ctx is; a tracer calls it in Finish. ok is false for a
// call with no report.
func ReportFrom(ctx context.Context) (rep *Report, ok bool) {
	ci := callinfo.From(ctx)
	if ci == nil {
		return nil, false
	}
	return reportKey.Get(ci)
}
