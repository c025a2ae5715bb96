package thriftcodec_test

import (
	"errors"
	"testing"

	tc "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

func TestCodeForType(t *testing.T) {
	for typeID, want := range map[int32]status.Code{
		tc.UnknownApplicationException: status.Unknown,
		tc.UnknownMethod:               status.Unimplemented,
		tc.InvalidMessageType:          status.Internal,
		tc.WrongMethodName:             status.Internal,
		tc.BadSequenceID:               status.Internal,
		tc.MissingResult:               status.Internal,
		tc.InternalError:               status.Internal,
		tc.ProtocolError:               status.Internal,
		tc.InvalidTransform:            status.Unimplemented,
		tc.InvalidProtocol:             status.Unimplemented,
		tc.UnsupportedClientType:       status.Unimplemented,
		tc.ValidationFailed:            status.InvalidArgument,
		tc.UnknownService:              status.Unimplemented,
		tc.NoServiceName:               status.InvalidArgument,
		-1:                             status.Unknown,
		1000:                           status.Unknown,
	} {
		if got := tc.CodeForType(typeID); got != want {
			t.Errorf("CodeForType(%d) = %v, want %v", typeID, got, want)
		}
	}
}

func TestExceptionType(t *testing.T) {
	for _, tt := range []struct {
		err  *status.Error
		want int32
	}{
		{nil, tc.UnknownApplicationException},
		{status.New(status.Unimplemented, "no such method"), tc.UnknownMethod},
		{status.New(status.Unknown, "?"), tc.UnknownApplicationException},
		{status.New(status.Internal, "panic"), tc.InternalError},
		{status.New(status.NotFound, "no user"), tc.InternalError},
		{status.New(status.DeadlineExceeded, "slow"), tc.InternalError},
		{status.Protocolf("bad bytes"), tc.ProtocolError},
		{status.New(status.Internal, "x").WithTypeID(tc.BadSequenceID), tc.BadSequenceID},
		{tc.ApplicationError(tc.UnknownService, "svc"), tc.UnknownService},
		{status.Remote(status.Unknown, tc.MissingResult, "none"), tc.MissingResult},
	} {
		if got := tc.ExceptionType(tt.err); got != tt.want {
			t.Errorf("ExceptionType(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// TestExceptionRoundTrip sends errors as Exception messages and checks
// what the other side decodes: a remote error with the type and message,
// and a code that maps back to the same type.
func TestExceptionRoundTrip(t *testing.T) {
	for _, sent := range []*status.Error{
		tc.ApplicationError(tc.UnknownMethod, "unknown method Nope"),
		tc.ApplicationError(tc.InternalError, "handler panicked"),
		tc.ApplicationError(tc.ProtocolError, ""),
		tc.ApplicationError(tc.UnknownApplicationException, "what"),
		tc.ApplicationError(12345, "custom"),
		status.New(status.Unimplemented, "not here"),
		status.New(status.PermissionDenied, "go away"),
		status.Protocolf("garbled"),
	} {
		msg := &codec.Message{Type: codec.Exception, Method: "Echo", SeqID: 9, Err: sent}
		b := encode(t, msg)

		got := &codec.Message{}
		n, err := tc.Codec.DecodeEnvelope(b, got)
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.Codec.DecodePayload(b[n:], got); err != nil {
			t.Fatal(err)
		}
		e := got.Err
		typeID := tc.ExceptionType(sent)
		if got.Type != codec.Exception || got.Method != "Echo" || got.SeqID != 9 {
			t.Fatalf("envelope %v %s %d", got.Type, got.Method, got.SeqID)
		}
		if e.TypeID() != typeID || e.Message() != sent.Message() || e.Code() != sent.Code() {
			t.Errorf("sent %v (type %d), got %v (type %d)", sent, typeID, e, e.TypeID())
		}
		if !errors.Is(e, status.ErrRemote) || errors.Is(e, status.ErrProtocol) {
			t.Errorf("%v: want a remote error", e)
		}
		// Sending it on (a proxy) keeps the bytes.
		if again := encode(t, got); string(again) != string(b) {
			t.Errorf("re-sent exception differs:\n%x\n%x", again, b)
		}
	}
}

func TestApplicationError(t *testing.T) {
	e := tc.ApplicationError(tc.UnknownMethod, "unknown method Foo")
	if e.Code() != status.Unimplemented || e.TypeID() != tc.UnknownMethod || e.Message() != "unknown method Foo" || e.Kind() != status.KindNone {
		t.Fatalf("ApplicationError = %v (type %d, kind %v)", e, e.TypeID(), e.Kind())
	}
}

func TestExceptionWithoutErr(t *testing.T) {
	msg := &codec.Message{Type: codec.Exception, Method: "Echo"}
	if n := tc.Codec.Size(msg); n != -1 {
		t.Errorf("Size = %d, want -1", n)
	}
	if _, err := tc.Codec.Append(nil, msg); err == nil {
		t.Error("Append of an exception without Err succeeded")
	}
}
