package loadbalance

import (
	"context"
	"errors"

	"github.com/skiffrpc/skiff/core/status"
)

// Outcome is how an attempt's error counts against the instance that
// served it.
type Outcome uint8

// Outcomes.
const (
	// Success: the instance answered (nil error, a declared exception, a
	// business error, or a remote error that blames the request, such as
	// InvalidArgument or NotFound).
	Success Outcome = iota
	// Failure: the instance failed the attempt (connect failure, timeout,
	// lost connection, overload, protocol error, or a remote error of a
	// server-side code: Unknown, Internal, Unavailable, DataLoss,
	// ResourceExhausted, DeadlineExceeded, Unimplemented).
	Failure
	// Ignored: the outcome says nothing about the instance (the caller
	// canceled the attempt, as happens to the loser of a backup request,
	// or the attempt never reached an instance).
	Ignored
)

// String returns "success", "failure" or "ignored".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignored:
		return "ignored"
	}
	return "unknown"
}

// Classify returns how err, the Err of a loadbalance.DoneInfo, counts
// against the instance: it is the default classifier of [NewP2C]'s failure
// penalty and of [NewOutlierDetector]. It allocates nothing for errors
// that are a *status.Error or a *status.BizError themselves.
func Classify(err error) Outcome {
	if err == nil {
		return Success
	}
	switch e := err.(type) {
	case *status.BizError:
		return Success
	case *status.Error:
		return classifyStatus(e)
	}
	return classifySlow(err)
}

func classifySlow(err error) Outcome {
	var biz *status.BizError
	if errors.As(err, &biz) {
		return Success
	}
	var se *status.Error
	if errors.As(err, &se) {
		return classifyStatus(se)
	}
	if errors.Is(err, context.Canceled) {
		return Ignored
	}
	return Failure // an error of unknown shape from the transport or middleware
}

func classifyStatus(e *status.Error) Outcome {
	switch e.Kind() {
	case status.KindDeclared:
		return Success
	case status.KindCanceled, status.KindCircuitOpen, status.KindNoInstance:
		return Ignored
	case status.KindNone, status.KindRemote:
		switch e.Code() {
		case status.OK:
			return Success
		case status.Unknown, status.Internal, status.Unavailable, status.DataLoss,
			status.ResourceExhausted, status.DeadlineExceeded, status.Unimplemented:
			return Failure
		case status.Canceled:
			return Ignored
		}
		return Success // the server blamed the request: the instance is fine
	}
	return Failure // timeout, overload, connect, unsent, connection lost, protocol
}
