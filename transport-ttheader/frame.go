package ttheader

import (
	"encoding/binary"
	"strconv"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/status"
)

// FrameType is the type of a TTHeader Streaming (ttstream) frame. It
// travels as a decimal string under int key [KeyFrameType].
type FrameType uint8

// Frame types. The first five are Kitex's; [FrameWindow] is Skiff's own and
// is only sent to a peer that announced flow control (see [KeyFlowWindow]).
const (
	FrameMeta    FrameType = 1
	FrameHeader  FrameType = 2
	FrameData    FrameType = 3
	FrameTrailer FrameType = 4
	FrameRst     FrameType = 5
	// FrameWindow returns flow-control credit to the sender of a stream:
	// int key KeyFlowWindow holds the increment in bytes. Its wire value
	// is "100", away from Kitex's numbering.
	FrameWindow FrameType = 100
)

// Int keys of ttstream frames.
const (
	// KeyFrameType holds the frame type ("1" meta ... "5" rst).
	KeyFrameType uint16 = 27
	// KeyFlowWindow is Skiff's flow-control key, outside Kitex's int key
	// range (0 to 27): on the meta frames of stream 0 (a client's
	// preface, a server's answer) and on a client's header frames it is
	// the sender's receive window per stream in bytes; on a FrameWindow
	// frame it is the credit.
	KeyFlowWindow uint16 = 0x5357
)

// String keys of ttstream frames.
const (
	// KeyCancelPath is the cancel path ("A,B,C") Kitex puts on rst frames.
	KeyCancelPath = "ttscp"
)

// Payload protocol ids of ttstream frames.
const (
	// ProtocolThriftStruct marks a Thrift struct without a message
	// header (Kitex's default for ttstream).
	ProtocolThriftStruct uint8 = 0x10
	// ProtocolProtobufStruct marks a protobuf message.
	ProtocolProtobufStruct uint8 = 0x11
)

// FrameError is the error of a frame that cannot be decoded. It matches
// [status.ErrProtocol] with errors.Is. A connection that reads a bad frame
// is closed; other connections are not affected.
type FrameError struct {
	// Reason says what is wrong with the frame.
	Reason string
}

// Error implements error.
func (e *FrameError) Error() string { return "ttstream: bad frame: " + e.Reason }

// Unwrap returns status.ErrProtocol, so that the error matches it.
func (e *FrameError) Unwrap() error { return status.ErrProtocol }

func frameErr(format string, args ...any) error {
	return &FrameError{Reason: status.Protocolf(format, args...).Message()}
}

// Frame is one ttstream frame: a TTHeader with the streaming flag whose
// sequence number is the stream id.
type Frame struct {
	// Type is the frame type (int key 27).
	Type FrameType
	// StreamID is the stream the frame belongs to (0: the connection).
	StreamID int32
	// Method is the method name (int key 9); Kitex writes it on every
	// frame.
	Method string
	// ProtocolID is the payload protocol ([ProtocolThriftStruct] when 0
	// on encode).
	ProtocolID uint8
	// Meta holds the other key/values of the header, in wire order: the
	// string keys (header or trailer fields) and int keys besides 27 and
	// 9. On decode, keys 27 and 9 are kept where they were in the int
	// block (so that re-encoding gives the same bytes); on encode, a frame
	// type or method key in Meta is replaced by Type and Method in place.
	Meta codec.Metadata
	// Payload is the frame's payload: a message on data frames, an
	// encoded Thrift exception (or nothing) on trailer and rst frames.
	Payload []byte
}

// frameTypeString returns the wire value of t.
func frameTypeString(t FrameType) string {
	switch t {
	case FrameMeta:
		return "1"
	case FrameHeader:
		return "2"
	case FrameData:
		return "3"
	case FrameTrailer:
		return "4"
	case FrameRst:
		return "5"
	}
	return strconv.Itoa(int(t))
}

func parseFrameType(s string) (FrameType, bool) {
	switch s {
	case "1":
		return FrameMeta, true
	case "2":
		return FrameHeader, true
	case "3":
		return FrameData, true
	case "4":
		return FrameTrailer, true
	case "5":
		return FrameRst, true
	case "100":
		return FrameWindow, true
	}
	return 0, false
}

// frameMeta returns the metadata to encode for f: Meta with the frame type
// and method keys set (in place if present, else first: 27 then 9). buf
// provides the storage; its Ints are overwritten.
func frameMeta(f *Frame, buf *codec.Metadata) *codec.Metadata {
	buf.Strs = f.Meta.Strs
	placed := false
	for _, kv := range f.Meta.Ints {
		if kv.Key == KeyFrameType || kv.Key == KeyToMethod {
			placed = true
			break
		}
	}
	if !placed {
		// The usual case: 27 and 9 first, then the other int keys.
		buf.Ints = append(buf.Ints[:0],
			codec.IntKV{Key: KeyFrameType, Value: frameTypeString(f.Type)},
			codec.IntKV{Key: KeyToMethod, Value: f.Method})
		buf.Ints = append(buf.Ints, f.Meta.Ints...)
		return buf
	}
	buf.Ints = buf.Ints[:0]
	ft, mt := false, false
	for _, kv := range f.Meta.Ints {
		switch kv.Key {
		case KeyFrameType:
			if ft {
				continue
			}
			ft, kv.Value = true, frameTypeString(f.Type)
		case KeyToMethod:
			if mt {
				continue
			}
			mt, kv.Value = true, f.Method
		}
		buf.Ints = append(buf.Ints, kv)
	}
	var head []codec.IntKV
	if !ft {
		head = append(head, codec.IntKV{Key: KeyFrameType, Value: frameTypeString(f.Type)})
	}
	if !mt {
		head = append(head, codec.IntKV{Key: KeyToMethod, Value: f.Method})
	}
	if head != nil {
		buf.Ints = append(head, buf.Ints...)
	}
	return buf
}

// metaBuf is stack storage for frameMeta.
type metaBuf struct {
	m   codec.Metadata
	arr [6]codec.IntKV
}

func (b *metaBuf) meta(f *Frame) *codec.Metadata {
	b.m.Ints = b.arr[:0]
	return frameMeta(f, &b.m)
}

// FrameLen returns the encoded size of f in bytes.
func FrameLen(f *Frame) (int, error) {
	var mb metaBuf
	hl, err := HeaderLen(mb.meta(f))
	if err != nil {
		return 0, err
	}
	n := hl + len(f.Payload)
	if int64(n)-4 > MaxFrameSize {
		return 0, frameErr("frame of %d bytes exceeds %d", n, MaxFrameSize)
	}
	return n, nil
}

// AppendFrame appends f, encoded as Kitex v0.15.2 encodes ttstream frames,
// to dst: flags 0x0002, the stream id as sequence number, protocol id
// 0x10 unless f says otherwise, an ACL token block, a string key block and
// an int key block (frame type and method first unless f.Meta places
// them), zero padding, then the payload.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	var mb metaBuf
	meta := mb.meta(f)
	hl, err := HeaderLen(meta)
	if err != nil {
		return dst, err
	}
	if int64(hl+len(f.Payload))-4 > MaxFrameSize {
		return dst, frameErr("frame of %d bytes exceeds %d", hl+len(f.Payload), MaxFrameSize)
	}
	dst = grow(dst, hl)
	pid := f.ProtocolID
	if pid == 0 {
		pid = ProtocolThriftStruct
	}
	PutHeader(dst[len(dst)-hl:], Header{Flags: FlagStreaming, SeqID: f.StreamID, ProtocolID: pid}, meta, len(f.Payload))
	return append(dst, f.Payload...), nil
}

// checkFixed checks the fixed part of a ttstream frame header (b holds at
// least FixedLen bytes) against maxSize and returns the frame's total
// length and info area size.
func checkFixed(b []byte, maxSize int) (total, info int, err error) {
	be := binary.BigEndian
	if m := be.Uint16(b[4:]); m != Magic {
		return 0, 0, frameErr("bad magic %#04x", m)
	}
	if fl := be.Uint16(b[6:]); fl&FlagStreaming == 0 {
		return 0, 0, frameErr("flags %#04x lack the streaming flag", fl)
	}
	length := be.Uint32(b)
	if length > MaxFrameSize {
		return 0, 0, frameErr("frame length %d exceeds %d", length, MaxFrameSize)
	}
	if maxSize > 0 && int64(length) > int64(maxSize) {
		return 0, 0, frameErr("frame length %d exceeds the limit of %d bytes", length, maxSize)
	}
	info = int(be.Uint16(b[12:])) * 4
	if info < 4 || info > MaxInfoSize {
		return 0, 0, frameErr("header info size %d out of range [4, %d]", info, MaxInfoSize)
	}
	total = int(length) + 4
	if FixedLen+info > total {
		return 0, 0, frameErr("header of %d bytes points past the frame of %d bytes", FixedLen+info, total)
	}
	return total, info, nil
}

// DecodeFrame decodes the frame that b holds exactly (b's length must be
// the frame's). The metadata strings are copies; f.Payload aliases b.
// Errors are *[FrameError] values.
func DecodeFrame(b []byte, f *Frame) error {
	if len(b) < FixedLen {
		return frameErr("%d bytes, header needs %d", len(b), FixedLen)
	}
	total, info, err := checkFixed(b, 0)
	if err != nil {
		return err
	}
	if total != len(b) {
		return frameErr("frame length %d, %d bytes given", total, len(b))
	}
	return decodeFrameBody(b, info, f)
}

func decodeFrameBody(b []byte, info int, f *Frame) error {
	f.Meta.Reset()
	f.StreamID = int32(binary.BigEndian.Uint32(b[8:]))
	if _, err := decodeInfo(b[FixedLen:FixedLen+info], &f.Meta); err != nil {
		return &FrameError{Reason: err.Error()}
	}
	f.ProtocolID = b[FixedLen]
	ft, ok := f.Meta.Int(KeyFrameType)
	if !ok {
		return frameErr("no frame type (int key 27)")
	}
	if f.Type, ok = parseFrameType(ft); !ok {
		return frameErr("unknown frame type %q", clipKey(ft))
	}
	f.Method, _ = f.Meta.Int(KeyToMethod)
	f.Payload = b[FixedLen+info:]
	return nil
}

// ReadFrame reads one frame from r into f. A frame whose LENGTH exceeds
// maxSize (0 means no limit beyond [MaxFrameSize]) is rejected before its
// body is read. f.Payload is a copy that stays valid after r.Release;
// the caller releases r. Decoding errors are *[FrameError] values; I/O
// errors are returned as they are.
func ReadFrame(r conn.Reader, f *Frame, maxSize int) error {
	fixed, err := r.Peek(FixedLen)
	if err != nil {
		return err
	}
	total, info, err := checkFixed(fixed, maxSize)
	if err != nil {
		return err
	}
	b, err := r.Next(total)
	if err != nil {
		return err
	}
	if err := decodeFrameBody(b, info, f); err != nil {
		return err
	}
	if len(f.Payload) > 0 {
		f.Payload = append([]byte(nil), f.Payload...)
	} else {
		f.Payload = nil
	}
	return nil
}
