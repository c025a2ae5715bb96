package ttheader

import (
	"encoding/binary"
	"fmt"
)

// Exception is a Thrift TApplicationException as ttstream carries it in
// trailer and rst frames: an EXCEPTION message (strict binary header with
// the method name and the stream id as sequence id) whose struct holds
// field 1, the message, and field 2, the type id.
type Exception struct {
	// TypeID is the exception type: Thrift's 0 to 11, or one of Kitex's
	// ttstream codes (12001 application exception ... 12013 connection
	// closed).
	TypeID int32
	// Message is the error text.
	Message string
}

// Error implements error.
func (e *Exception) Error() string {
	return fmt.Sprintf("ttstream exception %d: %s", e.TypeID, e.Message)
}

// Kitex's ttstream exception type ids that Skiff writes and reads.
const (
	TypeApplication      int32 = 12001
	TypeIllegalFrame     int32 = 12004
	TypeTransportClosing int32 = 12006
	TypeBizCancel        int32 = 12007
	TypeDownstreamCancel int32 = 12009
	TypeUpstreamCancel   int32 = 12010
	TypeInternalCancel   int32 = 12011
	TypeHandlerReturn    int32 = 12012
	TypeConnClosed       int32 = 12013
)

// AppendException appends e as a Thrift binary EXCEPTION message for
// method with sequence id seq, as Kitex writes it: the message header,
// then field 1 (string message), field 2 (i32 type) and a stop byte.
func AppendException(dst []byte, method string, seq int32, e *Exception) []byte {
	be := binary.BigEndian
	dst = be.AppendUint32(dst, 0x80010003)
	dst = be.AppendUint32(dst, uint32(len(method)))
	dst = append(dst, method...)
	dst = be.AppendUint32(dst, uint32(seq))
	dst = append(dst, 11, 0, 1)
	dst = be.AppendUint32(dst, uint32(len(e.Message)))
	dst = append(dst, e.Message...)
	dst = append(dst, 8, 0, 2)
	dst = be.AppendUint32(dst, uint32(e.TypeID))
	return append(dst, 0)
}

// DecodeException decodes a Thrift binary EXCEPTION message. Fields other
// than 1 and 2 are skipped when they are scalars or strings; anything else
// (or a message that is not an EXCEPTION) is a *[FrameError].
func DecodeException(b []byte) (*Exception, error) {
	be := binary.BigEndian
	if len(b) < 12 || be.Uint32(b) != 0x80010003 {
		return nil, frameErr("exception payload is not a Thrift EXCEPTION message")
	}
	n := int(be.Uint32(b[4:]))
	if n < 0 || n > len(b)-12 {
		return nil, frameErr("exception method name of %d bytes runs past the payload", n)
	}
	b = b[12+n:]
	e := &Exception{}
	for {
		if len(b) < 1 {
			return nil, frameErr("exception struct has no stop byte")
		}
		t := b[0]
		if t == 0 {
			return e, nil
		}
		if len(b) < 3 {
			return nil, frameErr("exception field header runs past the payload")
		}
		id := int16(be.Uint16(b[1:]))
		b = b[3:]
		var size int
		switch t {
		case 2, 3: // bool, byte
			size = 1
		case 6: // i16
			size = 2
		case 8: // i32
			size = 4
		case 4, 10: // double, i64
			size = 8
		case 11: // string
			if len(b) < 4 {
				return nil, frameErr("exception string length runs past the payload")
			}
			l := int64(be.Uint32(b))
			if l > int64(len(b)-4) {
				return nil, frameErr("exception string of %d bytes runs past the payload", l)
			}
			size = 4 + int(l)
		default:
			return nil, frameErr("exception field %d of type %d is not supported", id, t)
		}
		if len(b) < size {
			return nil, frameErr("exception field %d runs past the payload", id)
		}
		switch {
		case id == 1 && t == 11:
			e.Message = string(b[4:size])
		case id == 2 && t == 8:
			e.TypeID = int32(be.Uint32(b))
		}
		b = b[size:]
	}
}
