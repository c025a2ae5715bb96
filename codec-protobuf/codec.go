package protocodec

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// Magic is the Kitex Protobuf magic (protocol version 1) in the high 16
// bits of a message's first word; the message type is in the low 16.
const Magic uint16 = 0x9001

// EnvelopeSize is the length of an envelope with an empty method name:
// the magic and type word, the method name length and the sequence id.
const EnvelopeSize = 12

// MaxMethodNameLen is the longest method name [Codec] accepts: 4096 bytes.
const MaxMethodNameLen = 4096

// Codec is the Kitex Protobuf message codec, registered under the name
// "protobuf". It is stateless and safe for concurrent use.
//
// Envelope: u32 0x90010000|type, u32 method name length, name, u32
// sequence id; the rest of the message is the protobuf payload (see the
// package documentation for payload values). The payload of an Exception
// message is Kitex's ErrorProto, built from msg.Err (its type id is
// [ExceptionType]) and decoded into a remote *status.Error whose code is
// status.CodeForType of the received type id.
//
// Size is exact for every message it can encode, and -1 for a payload that
// is not a proto.Message or a codec.Raw. DecodePayload reads the whole body:
// a Kitex Protobuf message is always framed, so the body ends where the
// frame does.
var Codec codec.Codec = messageCodec{}

// Payload is the protobuf payload codec, registered under the name
// "protobuf": it marshals one message with no envelope (gRPC messages). It
// implements [codec.SizeAppender]. It is stateless and safe for concurrent
// use.
//
// Values are a proto.Message or a [codec.Wrapper] of one. Marshal of nil
// returns an empty encoding; Unmarshal into nil is an error. Unmarshal
// copies: v never aliases data.
var Payload codec.PayloadCodec = payloadCodec{}

func init() {
	codec.Register(Codec)
	codec.RegisterPayload(Payload)
}

type messageCodec struct{}

var (
	_ codec.Codec      = messageCodec{}
	_ codec.RawCarrier = messageCodec{}
)

func (messageCodec) Name() string { return "protobuf" }

// CarriesRaw implements codec.RawCarrier: a codec.Raw payload is the
// encoded message, written verbatim; decoding into a *codec.Raw checks the
// body's wire format and copies it.
func (messageCodec) CarriesRaw() bool { return true }

// Detect accepts 0x90 0x01, then (when present) 0x00 and a message type
// from 1 to 4.
func (messageCodec) Detect(prefix []byte) bool {
	if len(prefix) < 2 || prefix[0] != 0x90 || prefix[1] != 0x01 {
		return false
	}
	if len(prefix) >= 3 && prefix[2] != 0 {
		return false
	}
	if len(prefix) >= 4 && (prefix[3] < byte(codec.Call) || prefix[3] > byte(codec.Oneway)) {
		return false
	}
	return true
}

func (messageCodec) Size(msg *codec.Message) int {
	env := EnvelopeSize + len(msg.Method)
	if msg.Type == codec.Exception {
		if msg.Err == nil {
			return -1
		}
		return env + errorProtoSize(msg.Err)
	}
	n := payloadSize(msg.Payload)
	if n < 0 {
		return -1
	}
	return env + n
}

func (messageCodec) Append(dst []byte, msg *codec.Message) ([]byte, error) {
	if msg.Type < codec.Call || msg.Type > codec.Oneway {
		return dst, status.Protocolf("protobuf: cannot encode message type %d", msg.Type)
	}
	if len(msg.Method) > MaxMethodNameLen {
		return dst, status.Protocolf("protobuf: method name of %d bytes exceeds %d", len(msg.Method), MaxMethodNameLen)
	}
	if msg.Type == codec.Exception && msg.Err == nil {
		return dst, status.Errorf(status.Internal, "protobuf: exception message %q without an error", msg.Method)
	}
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(Magic)<<16|uint32(msg.Type))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(msg.Method)))
	dst = append(dst, msg.Method...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(msg.SeqID))
	if msg.Type == codec.Exception {
		return appendErrorProto(dst, msg.Err), nil
	}
	out, err := appendPayload(dst, msg.Payload)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

func (messageCodec) DecodeEnvelope(src []byte, msg *codec.Message) (int, error) {
	if len(src) < 4 {
		return 0, status.Protocolf("protobuf: message of %d bytes is shorter than an envelope", len(src))
	}
	v := binary.BigEndian.Uint32(src)
	if uint16(v>>16) != Magic {
		return 0, status.Protocolf("protobuf: bad magic 0x%04x, want 0x%04x", v>>16, Magic)
	}
	t := v & 0xffff
	if t < uint32(codec.Call) || t > uint32(codec.Oneway) {
		return 0, status.Protocolf("protobuf: unknown message type %d", t)
	}
	if len(src) < EnvelopeSize {
		return 0, status.Protocolf("protobuf: message of %d bytes is shorter than an envelope", len(src))
	}
	nl := binary.BigEndian.Uint32(src[4:])
	if nl > MaxMethodNameLen {
		return 0, status.Protocolf("protobuf: method name length %d exceeds %d", nl, MaxMethodNameLen)
	}
	if int(nl) > len(src)-EnvelopeSize {
		return 0, status.Protocolf("protobuf: method name length %d runs past the end of the %d-byte message", nl, len(src))
	}
	n := int(nl)
	msg.Type = codec.MessageType(t)
	msg.Method = internName(src[8 : 8+n])
	msg.SeqID = int32(binary.BigEndian.Uint32(src[8+n:]))
	return EnvelopeSize + n, nil
}

func (messageCodec) DecodePayload(body []byte, msg *codec.Message) error {
	if msg.Type == codec.Exception {
		e, err := readErrorProto(body)
		if err != nil {
			return err
		}
		msg.Err = e
		return nil
	}
	return unmarshal(body, msg.Payload)
}

// ExceptionType returns the ErrorProto type id that carries err on the
// wire: err.TypeID() when it is not zero, status.TypeProtocolError for an
// error that matches status.ErrProtocol, and status.TypeForCode(err.Code())
// otherwise. ExceptionType(nil) is status.TypeUnknown.
func ExceptionType(err *status.Error) int32 {
	switch {
	case err == nil:
		return status.TypeUnknown
	case err.TypeID() != 0:
		return err.TypeID()
	case err.Kind() == status.KindProtocol:
		return status.TypeProtocolError
	}
	return status.TypeForCode(err.Code())
}

// ErrorProto field numbers.
const (
	errTypeIDField  protowire.Number = 1
	errMessageField protowire.Number = 2
	errCodeField    protowire.Number = status.ExceptionCodeField
	errKindField    protowire.Number = status.ExceptionKindField
)

// errorProtoSize is the encoded size of ErrorProto for err. Zero values are
// left out, as proto3 (and Kitex) encode them.
func errorProtoSize(err *status.Error) int {
	n := 0
	if id := ExceptionType(err); id != 0 {
		n += protowire.SizeTag(errTypeIDField) + protowire.SizeVarint(uint64(int64(id)))
	}
	if m := err.Message(); m != "" {
		n += protowire.SizeTag(errMessageField) + protowire.SizeBytes(len(m))
	}
	if status.NeedsWireCode(err, ExceptionType(err)) {
		n += protowire.SizeTag(errCodeField) + protowire.SizeVarint(uint64(err.Code()))
		if k := err.WireKind(); k != status.KindNone {
			n += protowire.SizeTag(errKindField) + protowire.SizeVarint(uint64(k))
		}
	}
	return n
}

// appendErrorProto appends ErrorProto{TypeID, Message} for err, plus
// varint fields status.ExceptionCodeField and ExceptionKindField when the
// type id alone would not restore err's code or category
// (status.NeedsWireCode); protobuf readers, Kitex's included, skip them.
func appendErrorProto(b []byte, err *status.Error) []byte {
	if id := ExceptionType(err); id != 0 {
		b = protowire.AppendTag(b, errTypeIDField, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(id))) // int32 is sign-extended
	}
	if m := err.Message(); m != "" {
		b = protowire.AppendTag(b, errMessageField, protowire.BytesType)
		b = protowire.AppendString(b, m)
	}
	if status.NeedsWireCode(err, ExceptionType(err)) {
		b = protowire.AppendTag(b, errCodeField, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(err.Code()))
		if k := err.WireKind(); k != status.KindNone {
			b = protowire.AppendTag(b, errKindField, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(k))
		}
	}
	return b
}

// readErrorProto decodes an ErrorProto into a remote error. Unknown fields
// are skipped; a known field of another wire type is skipped as protobuf
// parsers treat it (as unknown).
func readErrorProto(b []byte) (*status.Error, error) {
	var (
		typeID     int32
		msg        string
		code, kind = int32(-1), int32(-1)
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, wireError("ErrorProto", n)
		}
		b = b[n:]
		switch {
		case num == errTypeIDField && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return nil, wireError("ErrorProto.TypeID", m)
			}
			typeID, n = int32(v), m
		case num == errMessageField && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, wireError("ErrorProto.Message", m)
			}
			msg, n = string(v), m
		case (num == errCodeField || num == errKindField) && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return nil, wireError("ErrorProto", m)
			}
			if v > 1<<16 {
				v = 1 << 16 // out of range either way
			}
			if num == errCodeField {
				code = int32(v)
			} else {
				kind = int32(v)
			}
			n = m
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, wireError("ErrorProto", n)
			}
		}
		b = b[n:]
	}
	return status.FromException(typeID, msg, code, kind), nil
}

func wireError(what string, n int) *status.Error {
	return status.Wrap(status.ErrProtocol, "protobuf: decoding "+what, protowire.ParseError(n))
}

// message returns the proto.Message that payload v stands for: v itself or
// the value a [codec.Wrapper] wraps. ok is false when v is neither.
func message(v any) (proto.Message, bool) {
	m, ok := codec.Unwrap(v).(proto.Message)
	return m, ok
}

// payloadSize is the encoded size of payload v, 0 for nil, len for a
// codec.Raw, -1 when v is not a message.
func payloadSize(v any) int {
	if v == nil {
		return 0
	}
	if b, ok := codec.RawBytes(v); ok {
		return len(b)
	}
	m, ok := message(v)
	if !ok {
		return -1
	}
	return proto.Size(m)
}

// appendPayload appends the encoding of v (nothing for nil, the bytes of
// a codec.Raw verbatim).
func appendPayload(dst []byte, v any) ([]byte, error) {
	if v == nil {
		return dst, nil
	}
	if b, ok := codec.RawBytes(v); ok {
		return append(dst, b...), nil
	}
	m, ok := message(v)
	if !ok {
		return dst, notMessage(v)
	}
	out, err := proto.MarshalOptions{}.MarshalAppend(dst, m)
	if err != nil {
		return dst, status.Errorf(status.Internal, "protobuf: encoding %T: %v", m, err)
	}
	return out, nil
}

// unmarshal decodes b into v, copying every string and bytes field. A nil
// v only checks that b is well-formed protobuf; a *codec.Raw checks it and
// gets a copy of b.
func unmarshal(b []byte, v any) error {
	if v == nil {
		return checkWire(b)
	}
	if r, ok := v.(*codec.Raw); ok {
		if r == nil {
			return status.Errorf(status.Internal, "protobuf: decoding into a nil *codec.Raw")
		}
		if err := checkWire(b); err != nil {
			return err
		}
		codec.SetRaw(r, b)
		return nil
	}
	m, ok := message(v)
	if !ok {
		return notMessage(v)
	}
	if !m.ProtoReflect().IsValid() {
		return status.Errorf(status.Internal, "protobuf: decoding into a nil %T", m)
	}
	if err := (proto.UnmarshalOptions{}).Unmarshal(b, m); err != nil {
		return status.Wrap(status.ErrProtocol, fmt.Sprintf("protobuf: decoding %T", m), err)
	}
	return nil
}

// checkWire walks b as protobuf fields without decoding them (protowire
// bounds group nesting by its recursion limit).
func checkWire(b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return wireError("message", n)
		}
		if typ == protowire.EndGroupType {
			return status.Protocolf("protobuf: unexpected end of group %d", num)
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return wireError("message", n)
		}
		b = b[n:]
	}
	return nil
}

func notMessage(v any) *status.Error {
	return status.Errorf(status.Internal, "protobuf: payload %T is not a proto.Message or a codec.Wrapper of one", v)
}

type payloadCodec struct{}

var (
	_ codec.PayloadCodec = payloadCodec{}
	_ codec.SizeAppender = payloadCodec{}
	_ codec.RawCarrier   = payloadCodec{}
)

func (payloadCodec) Name() string { return "protobuf" }

// CarriesRaw implements codec.RawCarrier, as the message codec does.
func (payloadCodec) CarriesRaw() bool { return true }

func (payloadCodec) Marshal(v any) ([]byte, error) {
	n := payloadSize(v)
	if n < 0 {
		return nil, notMessage(v)
	}
	return appendPayload(make([]byte, 0, n), v)
}

func (payloadCodec) Unmarshal(data []byte, v any) error {
	if v == nil {
		return status.Errorf(status.Internal, "protobuf: Unmarshal into nil")
	}
	return unmarshal(data, v)
}

func (payloadCodec) Size(v any) int { return payloadSize(v) }

func (payloadCodec) AppendMarshal(dst []byte, v any) ([]byte, error) { return appendPayload(dst, v) }

// Method names are interned so that decoding an envelope does not allocate
// once a name has been seen. The table is copy-on-write and bounded, so a
// peer sending random names cannot grow it past maxInterned entries.
const (
	maxInterned    = 1024
	maxInternedLen = 128
)

var (
	internMu sync.Mutex
	interned atomic.Pointer[map[string]string]
)

func internName(b []byte) string {
	if m := interned.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	s := string(b)
	if len(s) <= maxInternedLen {
		internSlow(s)
	}
	return s
}

func internSlow(s string) {
	internMu.Lock()
	defer internMu.Unlock()
	var old map[string]string
	if p := interned.Load(); p != nil {
		old = *p
	}
	if _, ok := old[s]; ok || len(old) >= maxInterned {
		return
	}
	m := make(map[string]string, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[s] = s
	interned.Store(&m)
}
