package acl

import (
	"context"
	"errors"

	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/status"
)

// RejectFunc is one access-control rule. It returns nil to let the call
// through, or an error that says why it is rejected. req is the call's
// argument value (a *stream.Args on a client opening a stream, the
// stream.ServerStream on a server serving one). A RejectFunc must be safe
// for concurrent use.
type RejectFunc func(ctx context.Context, req any) error

// Middleware returns middleware that runs rules in order before each call
// and rejects the call at the first rule that returns an error: the call
// then ends with a PermissionDenied *status.Error whose message starts
// with "acl: " and which wraps the rule's error (errors.Is and errors.As
// reach it on the side that rejected). With no rules it lets every call
// through.
func Middleware(rules ...RejectFunc) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		if len(rules) == 0 {
			return next
		}
		return func(ctx context.Context, req, resp any) error {
			for _, r := range rules {
				if err := r(ctx, req); err != nil {
					return Rejected(err)
				}
			}
			return next(ctx, req, resp)
		}
	}
}

// Rejected returns the error of a call a rule rejected with reason: a
// PermissionDenied *status.Error that wraps reason. A reason that already
// is a PermissionDenied *status.Error is returned as it is.
func Rejected(reason error) error {
	var se *status.Error
	if errors.As(reason, &se) && se.Code() == status.PermissionDenied {
		return reason
	}
	return &rejection{st: status.New(status.PermissionDenied, "acl: "+reason.Error()), reason: reason}
}

// rejection is a PermissionDenied status that also unwraps to the rule's
// reason.
type rejection struct {
	st     *status.Error
	reason error
}

// Error returns the status's text.
func (r *rejection) Error() string { return r.st.Error() }

// Unwrap returns the status (for errors.As to *status.Error) and the
// rule's reason.
func (r *rejection) Unwrap() []error { return []error{r.st, r.reason} }
