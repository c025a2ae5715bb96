package status

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Code is a status code. The values and names are gRPC's, so a Skiff error
// maps to a gRPC status without translation.
type Code uint32

// The closed set of codes, numbered as in gRPC.
const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

var codeNames = [...]string{
	"ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
	"already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
	"aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss",
	"unauthenticated",
}

// String returns the lower-case name of the code, such as "deadline_exceeded".
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "code_" + strconv.FormatUint(uint64(c), 10)
}

// Kind is the framework category of an error. Categories are what retry,
// breaker and limiter middleware decide on; codes are what crosses the wire.
type Kind uint8

// The framework categories.
const (
	// KindNone is an error with a code but no framework category, for
	// example one a handler built with [New].
	KindNone Kind = iota
	// KindTimeout: the RPC timeout or the context deadline passed.
	KindTimeout
	// KindCanceled: the caller's context was canceled.
	KindCanceled
	// KindOverload: a limiter rejected the call.
	KindOverload
	// KindCircuitOpen: a circuit breaker rejected the call.
	KindCircuitOpen
	// KindNoInstance: discovery or balancing found no instance to call.
	KindNoInstance
	// KindProtocol: bytes on the wire did not follow the protocol.
	KindProtocol
	// KindRemote: the remote side answered with an application exception
	// (for Thrift, a TApplicationException).
	KindRemote
	// KindConnect: no connection could be made to the chosen instance. The
	// request never reached the wire, so it also matches [ErrUnsent].
	KindConnect
	// KindUnsent: the request never reached the wire (the connection was
	// found closed, or the write failed before the whole request was
	// handed to the network). No server has seen it: retrying it
	// anywhere is safe.
	KindUnsent
	// KindConnLost: the connection failed after the request was sent and
	// before the reply arrived. The server may have run the call: only an
	// idempotent call may be retried.
	KindConnLost
	// KindDeclared: the call ended with an exception its method declares
	// (a Thrift throws clause). The call worked: breakers and retries count
	// it as a success. Middleware and tracers see it as an error of this
	// kind; the exception itself travels in the result, and client.Call
	// returns nil for it. Unwrap gives the exception.
	KindDeclared
)

var kindNames = [...]string{"", "timeout", "canceled", "overload", "circuit open", "no instance", "protocol", "remote", "connect", "unsent", "connection lost", "declared exception"}

// String returns the category name, such as "timeout", or "" for KindNone.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(int(k))
}

// Error is Skiff's error type. The zero value is not useful; build one with
// [New], [Errorf], [Wrap] or one of the category constructors.
//
// An Error matches a category sentinel with errors.Is:
//
//	if errors.Is(err, status.ErrTimeout) { ... }
type Error struct {
	code     Code
	kind     Kind
	typeID   int32
	msg      string
	cause    error
	sentinel bool
	remote   bool
}

// Category sentinels. Compare with [errors.Is]; never return them directly
// from a handler (use [New] or the category constructors).
var (
	ErrTimeout     = &Error{code: DeadlineExceeded, kind: KindTimeout, msg: "rpc timeout", sentinel: true}
	ErrCanceled    = &Error{code: Canceled, kind: KindCanceled, msg: "canceled", sentinel: true}
	ErrOverload    = &Error{code: ResourceExhausted, kind: KindOverload, msg: "overloaded", sentinel: true}
	ErrCircuitOpen = &Error{code: Unavailable, kind: KindCircuitOpen, msg: "circuit open", sentinel: true}
	ErrNoInstance  = &Error{code: Unavailable, kind: KindNoInstance, msg: "no instance", sentinel: true}
	ErrProtocol    = &Error{code: Internal, kind: KindProtocol, msg: "protocol error", sentinel: true}
	ErrRemote      = &Error{code: Unknown, kind: KindRemote, msg: "remote application error", sentinel: true}
	ErrConnect     = &Error{code: Unavailable, kind: KindConnect, msg: "connect failed", sentinel: true}
	ErrUnsent      = &Error{code: Unavailable, kind: KindUnsent, msg: "request not sent", sentinel: true}
	ErrConnLost    = &Error{code: Unavailable, kind: KindConnLost, msg: "connection lost after the request was sent", sentinel: true}
	ErrDeclared    = &Error{code: Unknown, kind: KindDeclared, msg: "declared exception", sentinel: true}
)

// Declared returns a [KindDeclared] error wrapping exc, a declared
// exception the call's result holds.
func Declared(exc error) *Error {
	return &Error{code: Unknown, kind: KindDeclared, msg: "exception", cause: exc}
}

// IsDeclared reports whether err is a declared exception ([KindDeclared]).
func IsDeclared(err error) bool {
	if err == nil {
		return false
	}
	if e, ok := err.(*Error); ok {
		return e.kind == KindDeclared
	}
	return isDeclaredSlow(err)
}

func isDeclaredSlow(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.kind == KindDeclared
}

// New returns an error with the code and message and no framework category.
func New(code Code, msg string) *Error { return &Error{code: code, msg: msg} }

// Errorf is [New] with a format.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{code: code, msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of the kind of sentinel (one of the Err variables),
// with msg, wrapping cause (which may be nil).
func Wrap(sentinel *Error, msg string, cause error) *Error {
	return &Error{code: sentinel.code, kind: sentinel.kind, msg: msg, cause: cause}
}

// Protocolf returns a [KindProtocol] error with a formatted message.
func Protocolf(format string, args ...any) *Error {
	return &Error{code: Internal, kind: KindProtocol, msg: fmt.Sprintf(format, args...)}
}

// Remote returns a [KindRemote] error: the peer answered with an application
// exception. typeID is the protocol's own exception type (for Thrift the
// TApplicationException type), kept so the error can be re-sent unchanged.
func Remote(code Code, typeID int32, msg string) *Error {
	return &Error{code: code, kind: KindRemote, typeID: typeID, msg: msg, remote: true}
}

// FromWire returns the error a peer reported: code and message, the
// protocol's exception type id (0 when there is none), and the framework
// category the peer gave it. Only [KindOverload] crosses the wire as a
// category (a server's limiter rejected the call); any other kind, or
// [KindNone], gives a [KindRemote] error. Every error FromWire returns
// matches [ErrRemote] and reports IsRemote.
func FromWire(code Code, kind Kind, typeID int32, msg string) *Error {
	if kind != KindOverload {
		kind = KindRemote
	}
	return &Error{code: code, kind: kind, typeID: typeID, msg: msg, remote: true}
}

// WireKind returns the category of e that crosses the wire: [KindOverload]
// for an overload rejection made by this process, [KindNone] otherwise (a
// downstream's overload passed on by a handler is the handler's failure,
// not this server's overload). Codecs send it next to the code so the
// caller can tell a limiter's rejection from a handler's own
// ResourceExhausted.
func (e *Error) WireKind() Kind {
	if e.kind == KindOverload && !e.remote {
		return KindOverload
	}
	return KindNone
}

// IsRemote reports whether the error came from the peer (an application
// exception or a status the peer sent), as opposed to one this process
// detected.
func (e *Error) IsRemote() bool { return e.remote || e.kind == KindRemote }

// WithTypeID returns a copy of e that carries a protocol exception type id.
func (e *Error) WithTypeID(id int32) *Error {
	c := *e
	c.typeID = id
	c.sentinel = false
	return &c
}

// Code returns the status code.
func (e *Error) Code() Code { return e.code }

// Kind returns the framework category, or [KindNone].
func (e *Error) Kind() Kind { return e.kind }

// TypeID returns the protocol-specific exception type (such as a Thrift
// TApplicationException type), or 0 when there is none.
func (e *Error) TypeID() int32 { return e.typeID }

// Message returns the message without the code or the cause.
func (e *Error) Message() string { return e.msg }

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Error formats the error as "[kind: ]code: message[: cause]".
func (e *Error) Error() string {
	s := e.code.String() + ": " + e.msg
	if e.kind != KindNone {
		s = e.kind.String() + ": " + s
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Is reports whether target is the category sentinel of e's kind. Besides
// its own sentinel, a [KindConnect] error matches [ErrUnsent] (a failed
// dial sent nothing), and every error from the peer matches [ErrRemote]
// (an overload rejection from a server's limiter matches both
// [ErrOverload] and ErrRemote).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || !t.sentinel {
		return false
	}
	switch t.kind {
	case e.kind:
		return e.kind != KindNone
	case KindUnsent:
		return e.kind == KindConnect
	case KindRemote:
		return e.remote
	}
	return false
}

// Convert returns err as an *Error: itself if it already is one (or wraps
// one), a [KindTimeout] error (DeadlineExceeded) for
// context.DeadlineExceeded, a [KindCanceled] error (Canceled) for
// context.Canceled, and an Unknown error otherwise. Convert(nil) is nil.
func Convert(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{code: DeadlineExceeded, kind: KindTimeout, msg: err.Error(), cause: err}
	case errors.Is(err, context.Canceled):
		return &Error{code: Canceled, kind: KindCanceled, msg: err.Error(), cause: err}
	}
	return &Error{code: Unknown, msg: err.Error(), cause: err}
}

// CodeOf returns the code of err: OK for nil, the code of an *Error in its
// chain, DeadlineExceeded and Canceled for the context errors, and Unknown
// otherwise.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	return Convert(err).code
}

// Field numbers of the two fields Skiff adds to a protocol exception (a
// Thrift TApplicationException, a Kitex Protobuf ErrorProto) when
// NeedsWireCode says so: the status code and the wire category, both
// 32-bit integers. Apache Thrift, Kitex and protobuf readers skip fields
// they do not know, so peers other than Skiff still read the type id and
// the message.
const (
	ExceptionCodeField = 1001
	ExceptionKindField = 1002
)

// FromException returns the remote error for a received protocol
// exception of type typeID with msg. code and kind are the values of the
// ExceptionCodeField and ExceptionKindField fields, or -1 when absent: the
// code defaults to CodeForType(typeID), and a code outside the closed set
// reads as Unknown.
func FromException(typeID int32, msg string, code, kind int32) *Error {
	c := CodeForType(typeID)
	switch {
	case code > int32(Unauthenticated):
		c = Unknown
	case code >= 0:
		c = Code(code)
	}
	k := KindNone
	if kind >= 0 && kind < 256 {
		k = Kind(kind)
	}
	return FromWire(c, k, typeID, msg)
}

// NeedsWireCode reports whether an exception of type typeID carrying e
// must say its code and category explicitly: when e's code is not the one
// typeID implies (CodeForType), or e has a category that crosses the wire
// (WireKind).
// Codecs whose exceptions have room for more (an extra Thrift field, an
// extra protobuf field) write them only then, so ordinary exceptions stay
// byte for byte what Apache Thrift and Kitex send.
func NeedsWireCode(e *Error, typeID int32) bool {
	return e.code != CodeForType(typeID) || e.WireKind() != KindNone
}

// Exception type ids, shared by Thrift's TApplicationException and Kitex
// Protobuf's ErrorProto. An *Error carries one in TypeID when it came from,
// or must go out as, a protocol exception. 0 to 10 are Apache Thrift's and
// Kitex's numbering, 11 Apache Thrift's newer ValidationFailed, 20 and 21
// Kitex's multi-service errors.
const (
	TypeUnknown               int32 = 0
	TypeUnknownMethod         int32 = 1
	TypeInvalidMessageType    int32 = 2
	TypeWrongMethodName       int32 = 3
	TypeBadSequenceID         int32 = 4
	TypeMissingResult         int32 = 5
	TypeInternalError         int32 = 6
	TypeProtocolError         int32 = 7
	TypeInvalidTransform      int32 = 8
	TypeInvalidProtocol       int32 = 9
	TypeUnsupportedClientType int32 = 10
	TypeValidationFailed      int32 = 11
	TypeUnknownService        int32 = 20
	TypeNoServiceName         int32 = 21
)

// CodeForType returns the status code of an exception type:
//
//	TypeUnknownMethod, TypeUnknownService, TypeInvalidTransform,
//	TypeInvalidProtocol, TypeUnsupportedClientType     Unimplemented
//	TypeValidationFailed, TypeNoServiceName             InvalidArgument
//	TypeInvalidMessageType, TypeWrongMethodName, TypeBadSequenceID,
//	TypeMissingResult, TypeInternalError, TypeProtocolError  Internal
//	anything else                                       Unknown
//
// TypeProtocolError maps to Internal, the code of Skiff's own protocol
// errors, so a protocol failure reads the same whichever side detected it.
func CodeForType(typeID int32) Code {
	switch typeID {
	case TypeUnknownMethod, TypeUnknownService, TypeInvalidTransform, TypeInvalidProtocol, TypeUnsupportedClientType:
		return Unimplemented
	case TypeValidationFailed, TypeNoServiceName:
		return InvalidArgument
	case TypeInvalidMessageType, TypeWrongMethodName, TypeBadSequenceID, TypeMissingResult, TypeInternalError, TypeProtocolError:
		return Internal
	}
	return Unknown
}

// TypeForCode returns the exception type that carries an error of code c:
// TypeUnknownMethod for Unimplemented, TypeUnknown for Unknown, and
// TypeInternalError for every other code (as Kitex does for handler
// errors).
func TypeForCode(c Code) int32 {
	switch c {
	case Unimplemented:
		return TypeUnknownMethod
	case Unknown:
		return TypeUnknown
	}
	return TypeInternalError
}

// Exception returns a [KindRemote] error for a protocol exception of type
// typeID with the message, its code from CodeForType.
func Exception(typeID int32, msg string) *Error {
	return &Error{code: CodeForType(typeID), kind: KindRemote, typeID: typeID, msg: msg, remote: true}
}
