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
	// the service answering: count it as a success.
	Err error
	// Latency is the time from the pick to the end of the attempt (for a
	// stream, until it was open).
	Latency time.Duration
}

// Feedback is an optional capability of a [Picker]: the client calls Done
// once for each instance Next returned, when the attempt on it ends, so a
// balancer can weigh instances by their load and outcomes (least request,
// peak EWMA, outlier ejection). Done must be safe for concurrent use and
// fast: it runs on the call's path.
type Feedback interface {
	Done(ctx context.Context, in discovery.Instance, info DoneInfo)
}

// ChangeObserver is an optional capability of a [Balancer] told each time
// the instance set of a service it balances changes, before the client
// asks it for a new picker. A balancer that keeps state per instance
// (breakers, latency windows) drops the state of removed instances here.
type ChangeObserver interface {
	OnChange(service string, ch discovery.Change)
}
