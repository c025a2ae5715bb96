package thriftcodec

import "github.com/skiffrpc/skiff/core/status"

// TApplicationException type ids. 0 to 10 are Apache Thrift's and Kitex's
// numbering; 11 is Apache Thrift's newer ValidationFailed; 20 and 21 are
// Kitex's own.
const (
	// UnknownApplicationException is the default type.
	UnknownApplicationException int32 = 0
	// UnknownMethod: the server has no method of that name.
	UnknownMethod int32 = 1
	// InvalidMessageType: the message type was not expected here.
	InvalidMessageType int32 = 2
	// WrongMethodName: the reply names another method than the request.
	WrongMethodName int32 = 3
	// BadSequenceID: the reply's sequence id does not match the request's.
	BadSequenceID int32 = 4
	// MissingResult: the reply carried neither a result nor an exception.
	MissingResult int32 = 5
	// InternalError: the handler failed (Kitex sends it for every handler
	// error that is not a declared exception).
	InternalError int32 = 6
	// ProtocolError: the receiver could not decode the message.
	ProtocolError int32 = 7
	// InvalidTransform: an unsupported transform was requested.
	InvalidTransform int32 = 8
	// InvalidProtocol: an unsupported protocol was used.
	InvalidProtocol int32 = 9
	// UnsupportedClientType: the server does not support this client type.
	UnsupportedClientType int32 = 10
	// ValidationFailed: a field failed an IDL validation rule (Apache
	// Thrift 0.21 and later).
	ValidationFailed int32 = 11
	// UnknownService: the server hosts no service of that name (Kitex
	// multi-service servers).
	UnknownService int32 = 20
	// NoServiceName: the server hosts several services and the request
	// named none (Kitex).
	NoServiceName int32 = 21
)

// CodeForType returns the status code of a TApplicationException type; it
// is status.CodeForType, which documents the table.
func CodeForType(typeID int32) status.Code { return status.CodeForType(typeID) }

// TypeForCode returns the TApplicationException type that carries an error
// of code c; it is status.TypeForCode. Thrift has no room for the code
// itself, so a caller on the other side sees the code [CodeForType] gives
// back.
func TypeForCode(c status.Code) int32 { return status.TypeForCode(c) }

// ExceptionType returns the TApplicationException type that carries err
// on the wire: err.TypeID() when it is not zero, ProtocolError for an error
// that matches status.ErrProtocol, and TypeForCode(err.Code()) otherwise.
// ExceptionType(nil) is UnknownApplicationException.
func ExceptionType(err *status.Error) int32 {
	switch {
	case err == nil:
		return UnknownApplicationException
	case err.TypeID() != 0:
		return err.TypeID()
	case err.Kind() == status.KindProtocol:
		return ProtocolError
	}
	return TypeForCode(err.Code())
}

// ApplicationError returns an error that a handler or the runtime returns
// to send a TApplicationException of type typeID with msg. Its code is
// CodeForType(typeID) and its TypeID is typeID; it has no framework
// category.
func ApplicationError(typeID int32, msg string) *status.Error {
	return status.New(CodeForType(typeID), msg).WithTypeID(typeID)
}

// exceptionSize is the encoded size of the TApplicationException for err.
func exceptionSize(err *status.Error) int {
	// field 1 string, field 2 i32, stop.
	n := FieldHeaderSize + StringSize(err.Message()) + FieldHeaderSize + 4 + StopSize
	if status.NeedsWireCode(err, ExceptionType(err)) {
		n += FieldHeaderSize + 4
		if err.WireKind() != status.KindNone {
			n += FieldHeaderSize + 4
		}
	}
	return n
}

// appendException appends the TApplicationException for err. Like Kitex, it
// always writes the message field, even when it is empty. When the type id
// alone would not restore err's code or category (status.NeedsWireCode),
// it adds i32 fields status.ExceptionCodeField and ExceptionKindField,
// which Apache Thrift and Kitex readers skip.
func appendException(b []byte, err *status.Error) []byte {
	b = AppendFieldBegin(b, TypeString, 1)
	b = AppendString(b, err.Message())
	b = AppendFieldBegin(b, TypeI32, 2)
	b = AppendI32(b, ExceptionType(err))
	if status.NeedsWireCode(err, ExceptionType(err)) {
		b = AppendFieldBegin(b, TypeI32, status.ExceptionCodeField)
		b = AppendI32(b, int32(err.Code()))
		if k := err.WireKind(); k != status.KindNone {
			b = AppendFieldBegin(b, TypeI32, status.ExceptionKindField)
			b = AppendI32(b, int32(k))
		}
	}
	return AppendFieldStop(b)
}

// readException decodes a TApplicationException into a remote error.
func readException(b []byte) (*status.Error, error) {
	var (
		msg        string
		typeID     = UnknownApplicationException
		code, kind = int32(-1), int32(-1)
		off        int
	)
	for {
		t, id, n, err := ReadFieldBegin(b[off:])
		if err != nil {
			return nil, err
		}
		off += n
		if t == TypeStop {
			break
		}
		switch {
		case id == 1 && t == TypeString:
			msg, n, err = ReadString(b[off:])
		case id == 2 && t == TypeI32:
			typeID, n, err = ReadI32(b[off:])
		case id == status.ExceptionCodeField && t == TypeI32:
			code, n, err = ReadI32(b[off:])
		case id == status.ExceptionKindField && t == TypeI32:
			kind, n, err = ReadI32(b[off:])
		default:
			n, err = Skip(b[off:], t, MaxDepth-1)
		}
		if err != nil {
			return nil, err
		}
		off += n
	}
	return status.FromException(typeID, msg, code, kind), nil
}
