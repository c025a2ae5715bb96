package h2transport

import (
	"context"
	"errors"
	"strconv"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/status"
)

// errClosedByUser ends a connection closed by Close or Shutdown.
var errClosedByUser = errors.New("h2transport: connection closed")

// errStreamClosed is returned by writes to a stream that this side ended.
var errStreamClosed = status.New(status.Internal, "h2transport: write on a closed stream")

// connClosedError is the error streams see when their connection ends.
// Its kind is status.KindConnLost (code Unavailable): the stream's request
// may have reached the server.
func connClosedError(cause error) error {
	if cause == nil || cause == errClosedByUser {
		return status.Wrap(status.ErrConnLost, "h2transport: connection closed", nil)
	}
	var se *status.Error
	if errors.As(cause, &se) {
		return status.Wrap(status.ErrConnLost, "h2transport: connection closed: "+se.Message(), nil)
	}
	return status.Wrap(status.ErrConnLost, "h2transport: connection closed", cause)
}

// goAwayError is the error of a client stream the server did not process
// before it went away; it is safe to retry.
func goAwayError(code http2.ErrCode, debug string) error {
	msg := "h2transport: stream not processed, server sent GOAWAY " + code.String()
	if debug != "" {
		msg += " (" + debug + ")"
	}
	return status.Wrap(status.ErrUnsent, msg, nil)
}

// resetError maps an RST_STREAM code received from the peer to a status
// error, as gRPC does (PROTOCOL-HTTP2.md, "Errors").
func resetError(code http2.ErrCode) error {
	c := status.Internal
	switch code {
	case http2.ErrCodeRefusedStream:
		// The server did not process the stream: safe to retry anywhere.
		return status.Wrap(status.ErrUnsent, "h2transport: stream refused by peer", nil)
	case http2.ErrCodeCancel:
		c = status.Canceled
	case http2.ErrCodeEnhanceYourCalm:
		c = status.ResourceExhausted
	case http2.ErrCodeInadequateSecurity:
		c = status.PermissionDenied
	}
	return status.New(c, "h2transport: stream reset by peer: "+code.String())
}

// localResetError is the error of a stream this side reset with code.
func localResetError(code uint32) error {
	if code == uint32(http2.ErrCodeCancel) {
		return status.New(status.Canceled, "h2transport: stream canceled")
	}
	return status.New(status.Internal, "h2transport: stream reset with code "+strconv.FormatUint(uint64(code), 10))
}

// ctxError maps the error of a client stream's context.
func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Wrap(status.ErrTimeout, "h2transport: stream deadline exceeded", err)
	}
	return status.Wrap(status.ErrCanceled, "h2transport: stream canceled", err)
}

// connError is a connection error found while handling a frame: the
// connection ends with GOAWAY and the code.
type connError struct {
	code  http2.ErrCode
	debug string
}

func (e connError) Error() string {
	return "h2transport: connection error " + e.code.String() + ": " + e.debug
}

// streamError is a stream error found while handling a frame: the stream
// is reset with the code.
type streamError struct {
	id   uint32
	code http2.ErrCode
}

func (e streamError) Error() string {
	return "h2transport: stream " + strconv.FormatUint(uint64(e.id), 10) + " error " + e.code.String()
}
