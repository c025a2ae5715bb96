package status

import "strconv"

// BizError is a business error: a handler returns it on purpose to tell the
// caller something about the request (not a framework failure). Protocols
// with headers carry it across the wire (TTHeader's biz-status keys, gRPC's
// status); the caller receives a *BizError with the same fields.
//
// A BizError never matches a framework category, so breakers and retries do
// not count it as a failure.
type BizError struct {
	// Code is the application's own status code.
	Code int32
	// Message is a human-readable description.
	Message string
	// Extra holds optional key/values; nil when there are none.
	Extra map[string]string
}

// NewBizError returns a business error with the code and message.
func NewBizError(code int32, msg string) *BizError {
	return &BizError{Code: code, Message: msg}
}

// Error formats the error as "biz error: code=N, msg=...".
func (e *BizError) Error() string {
	return "biz error: code=" + strconv.Itoa(int(e.Code)) + ", msg=" + e.Message
}
