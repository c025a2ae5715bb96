package loadbalance

import (
	"context"
	"time"

	"github.com/skiffrpc/skiff/core/discovery"
)

// DoneInfo is the outcome of one attempt on an instance a picker chose.
type DoneInfo struct {
	// Err is the attempt's error, nil on success. An error of kind
	// status.KindDeclared (a declared exception) or a *status.BizError is
	// the service answering: count it as a success. An error matching
	// context.Canceled is an attempt abandoned before it ended (a backup
	// request's loser, a caller that gave up, a pick a wrapper skipped):
	// take no latency or outcome sample from it.
	Err error
	// Latency is the time from the pick to the end of the attempt (for a
	// stream, until it was open).
	Latency time.Duration
}

// Feedback is an optional capability of a [Picker]: the client calls Done
// once for each instance Next returned, when the attempt on it ends, so a
// balancer can weigh instances by their load and outcomes (least request,
// peak EWMA, outlier ejection). Done must be safe for concurrent use and
// fast: it runs on the call's path. The ctx of Next and of Done is the
// attempt's: callinfo.AttemptFrom(ctx) returns the same record in both, so
// a picker can tie a Done to its pick. Done goes to the picker that
// picked, which may be an older picker than the current one after the
// instance set changed: keep per-instance state in the balancer, keyed by
// address, rather than in a picker.
type Feedback interface {
	Done(ctx context.Context, in discovery.Instance, info DoneInfo)
}

// ErrorPicker is an optional capability of a [Picker] that can say why it
// picked nothing: the client calls Pick instead of Next and returns its
// error as the attempt's (a breaker returns an error matching
// status.ErrCircuitOpen, which a retry policy may retry elsewhere). A nil
// instance with a nil error is status.ErrNoInstance.
type ErrorPicker interface {
	Pick(ctx context.Context) (discovery.Instance, error)
}

// ChangeObserver is an optional capability of a [Balancer] told each time
// the instance set of a service it balances changes, before the client
// asks it for a new picker. A balancer that keeps state per instance
// (breakers, latency windows) drops the state of removed instances here.
type ChangeObserver interface {
	OnChange(service string, ch discovery.Change)
}
