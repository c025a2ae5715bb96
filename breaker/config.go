package breaker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/skiffrpc/skiff/core/status"
)

// Defaults of the Config fields left zero, close to Kitex's breaker
// defaults (a 10 s window, an error rate of 50 % over at least 200 calls).
const (
	DefaultErrorRate      = 0.5
	DefaultMinSamples     = 200
	DefaultWindow         = 10 * time.Second
	DefaultBuckets        = 10
	DefaultOpenTimeout    = 5 * time.Second
	DefaultHalfOpenProbes = 1
)

// Config is the policy of one breaker. The zero value of a field means its
// default; the zero Config is the default policy.
type Config struct {
	// Disabled turns breaking off for the key: calls pass and nothing is
	// counted.
	Disabled bool
	// ErrorRate trips a closed breaker when failures / (failures +
	// successes) over the window reaches it; 0 < ErrorRate <= 1 (default
	// DefaultErrorRate).
	ErrorRate float64
	// MinSamples is the fewest outcomes (successes plus failures) the
	// window must hold before the rate is judged (default
	// DefaultMinSamples). Ignored outcomes are not samples.
	MinSamples int
	// Window is the span of the sliding window (default DefaultWindow).
	Window time.Duration
	// Buckets is how many slices the window slides by (default
	// DefaultBuckets, at most 1000): outcomes older than Window leave it
	// one bucket, Window/Buckets, at a time.
	Buckets int
	// OpenTimeout is how long an open breaker rejects calls before it lets
	// probes through (half-open) (default DefaultOpenTimeout).
	OpenTimeout time.Duration
	// HalfOpenProbes is how many calls a half-open breaker lets through,
	// and how many successes in a row close it (default
	// DefaultHalfOpenProbes). Any probe failure opens it again.
	HalfOpenProbes int
}

// normalized returns c with its zero fields set to the defaults and
// out-of-range values clamped.
func (c Config) normalized() Config {
	if c.ErrorRate <= 0 || c.ErrorRate > 1 {
		c.ErrorRate = DefaultErrorRate
	}
	if c.MinSamples <= 0 {
		c.MinSamples = DefaultMinSamples
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Buckets <= 0 {
		c.Buckets = DefaultBuckets
	}
	if c.Buckets > 1000 {
		c.Buckets = 1000
	}
	if c.Window/time.Duration(c.Buckets) <= 0 {
		c.Buckets = 1
	}
	if c.OpenTimeout <= 0 {
		c.OpenTimeout = DefaultOpenTimeout
	}
	if c.HalfOpenProbes <= 0 {
		c.HalfOpenProbes = DefaultHalfOpenProbes
	}
	return c
}

// State is a breaker's state.
type State int32

// The states of a breaker.
const (
	// Closed: calls pass and their outcomes are counted.
	Closed State = iota
	// HalfOpen: after the open timeout, a few probe calls pass; their
	// successes close the breaker, a failure opens it again.
	HalfOpen
	// Open: calls are rejected with an error matching
	// status.ErrCircuitOpen until the open timeout passes.
	Open
)

// String returns "closed", "half-open" or "open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Outcome is how a breaker counts the result of a call.
type Outcome uint8

// The outcomes of a call.
const (
	// Success counts toward the healthy side of the error rate.
	Success Outcome = iota
	// Failure counts toward tripping.
	Failure
	// Ignore is neither: the call says nothing about the callee's health
	// (the caller canceled it, or it was never tried).
	Ignore
)

// String returns "success", "failure" or "ignore".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignore:
		return "ignore"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Classifier decides how a call's error counts. It must be safe for
// concurrent use and fast: it runs on every call that returns an error
// (a nil error is always a Success and never reaches it).
type Classifier func(err error) Outcome

// DefaultClassifier is the classification used unless WithClassifier
// says otherwise:
//
//   - Failure: timeouts (status.KindTimeout, context.DeadlineExceeded),
//     connect failures and requests that were never sent
//     (status.ErrConnect, status.ErrUnsent), connections lost after the
//     request was sent (status.ErrConnLost), replies that break the
//     protocol (status.ErrProtocol), and errors the remote side reported
//     with the code Unknown, Internal, Unavailable, DataLoss or
//     DeadlineExceeded (a handler that failed or panicked).
//   - Success: business errors (*status.BizError), declared exceptions
//     (status.KindDeclared), and remote errors with any other code (the
//     callee answered: InvalidArgument, NotFound, Unimplemented and so
//     on are the caller's problem, not the callee's health).
//   - Ignore: cancellations by the caller (status.KindCanceled,
//     context.Canceled), rejections made before any instance was tried
//     (status.ErrCircuitOpen, status.ErrNoInstance), overload rejections
//     (status.ErrOverload: a limiter's clean refusal is load shedding,
//     left to client-side throttling), and errors without a framework
//     category that this process raised itself (such as a request that
//     could not be encoded).
func DefaultClassifier(err error) Outcome {
	switch e := err.(type) {
	case nil:
		return Success
	case *status.Error:
		return classifyStatus(e)
	case *status.BizError:
		return Success
	}
	var be *status.BizError
	if errors.As(err, &be) {
		return Success
	}
	var se *status.Error
	if errors.As(err, &se) {
		return classifyStatus(se)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Failure
	case errors.Is(err, context.Canceled):
		return Ignore
	}
	return Ignore
}

func classifyStatus(e *status.Error) Outcome {
	switch e.Kind() {
	case status.KindTimeout, status.KindConnect, status.KindUnsent, status.KindConnLost, status.KindProtocol:
		return Failure
	case status.KindDeclared:
		return Success
	case status.KindCanceled, status.KindCircuitOpen, status.KindNoInstance, status.KindOverload:
		return Ignore
	}
	if !e.IsRemote() {
		return Ignore
	}
	switch e.Code() {
	case status.Unknown, status.Internal, status.Unavailable, status.DataLoss, status.DeadlineExceeded:
		return Failure
	}
	return Success
}
