// Package envcodec is a small message codec written against Skiff's core
// alone. A message is an envelope followed by the payload bytes:
//
//	0xE5 | type (1 byte) | sequence id (4 bytes, big endian) |
//	method length (2 bytes, big endian) | method | payload
//
// The payload of a call or a reply is opaque bytes: a *[Bytes] for typed
// services, or a codec.Raw for generic calls and unknown-method handlers
// (the codec is a codec.RawCarrier). An exception's payload is its status
// code (4 bytes), its wire category (1 byte), its exception type id (4
// bytes) and its message, so a handler's code reaches the client
// unchanged.
//
// The codec registers itself under [Name] when the package is imported.
package envcodec

import (
	"encoding/binary"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// Name is the codec's registry name; give it to service.Info.Codec.
const Name = "skiffext.env"

// Magic is the first byte of every message.
const Magic = 0xE5

// envelopeLen is the length of an envelope without its method name.
const envelopeLen = 8

// exceptionLen is the length of an exception payload without its message.
const exceptionLen = 9

// Codec is the codec. It is safe for concurrent use.
var Codec codec.Codec = envCodec{}

var (
	_ codec.Codec      = envCodec{}
	_ codec.RawCarrier = envCodec{}
)

func init() { codec.Register(Codec) }

// Bytes is the payload of a typed call or reply: arguments or result as
// plain bytes.
type Bytes struct{ B []byte }

type envCodec struct{}

func (envCodec) Name() string { return Name }

// Detect accepts the magic byte followed by a known message type.
func (envCodec) Detect(p []byte) bool {
	if len(p) == 0 || p[0] != Magic {
		return false
	}
	return len(p) < 2 || validType(codec.MessageType(p[1]))
}

func validType(t codec.MessageType) bool { return t >= codec.Call && t <= codec.Oneway }

// CarriesRaw implements codec.RawCarrier: a codec.Raw is the bytes after
// the envelope, written and read verbatim.
func (envCodec) CarriesRaw() bool { return true }

func (envCodec) Size(m *codec.Message) int {
	n := envelopeLen + len(m.Method)
	if m.Type == codec.Exception {
		if m.Err == nil {
			return -1
		}
		return n + exceptionLen + len(m.Err.Message())
	}
	if b, ok := codec.RawBytes(m.Payload); ok {
		return n + len(b)
	}
	if b, ok := m.Payload.(*Bytes); ok && b != nil {
		return n + len(b.B)
	}
	return -1
}

func (envCodec) Append(dst []byte, m *codec.Message) ([]byte, error) {
	if !validType(m.Type) {
		return dst, status.Protocolf("%s: invalid message type %v", Name, m.Type)
	}
	if len(m.Method) > 0xFFFF {
		return dst, status.Protocolf("%s: method name of %d bytes", Name, len(m.Method))
	}
	var body []byte
	switch {
	case m.Type == codec.Exception:
		if m.Err == nil {
			return dst, status.Protocolf("%s: exception message without Err", Name)
		}
	default:
		if b, ok := codec.RawBytes(m.Payload); ok {
			body = b
		} else if b, ok := m.Payload.(*Bytes); ok && b != nil {
			body = b.B
		} else {
			return dst, status.Protocolf("%s: payload %T is neither *envcodec.Bytes nor codec.Raw", Name, m.Payload)
		}
	}
	dst = append(dst, Magic, byte(m.Type))
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.SeqID))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(m.Method)))
	dst = append(dst, m.Method...)
	if m.Type == codec.Exception {
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Err.Code()))
		dst = append(dst, byte(m.Err.WireKind()))
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Err.TypeID()))
		return append(dst, m.Err.Message()...), nil
	}
	return append(dst, body...), nil
}

func (envCodec) DecodeEnvelope(src []byte, m *codec.Message) (int, error) {
	if len(src) < envelopeLen {
		return 0, status.Protocolf("%s: envelope of %d bytes", Name, len(src))
	}
	if src[0] != Magic {
		return 0, status.Protocolf("%s: bad magic %#x", Name, src[0])
	}
	t := codec.MessageType(src[1])
	if !validType(t) {
		return 0, status.Protocolf("%s: invalid message type %v", Name, t)
	}
	n := envelopeLen + int(binary.BigEndian.Uint16(src[6:]))
	if len(src) < n {
		return 0, status.Protocolf("%s: method name cut after %d of %d bytes", Name, len(src)-envelopeLen, n-envelopeLen)
	}
	m.Type = t
	m.SeqID = int32(binary.BigEndian.Uint32(src[2:]))
	m.Method = string(src[envelopeLen:n])
	return n, nil
}

func (envCodec) DecodePayload(body []byte, m *codec.Message) error {
	if m.Type == codec.Exception {
		if len(body) < exceptionLen {
			return status.Protocolf("%s: exception of %d bytes", Name, len(body))
		}
		code := status.Code(binary.BigEndian.Uint32(body))
		if code > status.Unauthenticated {
			code = status.Unknown
		}
		kind := status.Kind(body[4])
		typeID := int32(binary.BigEndian.Uint32(body[5:]))
		m.Err = status.FromWire(code, kind, typeID, string(body[exceptionLen:]))
		return nil
	}
	if codec.SetRaw(m.Payload, body) {
		return nil
	}
	b, ok := m.Payload.(*Bytes)
	if !ok || b == nil {
		return status.Protocolf("%s: cannot decode into %T", Name, m.Payload)
	}
	b.B = append([]byte(nil), body...)
	return nil
}
