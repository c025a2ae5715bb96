package toycodec

import (
	"context"
	"encoding/binary"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
)

// Name is the codec's registry name.
const Name = "toy"

// Codec is the toy codec; it registers itself.
var Codec codec.Codec = toy{}

func init() { codec.Register(Codec) }

// Bytes is the payload type.
type Bytes struct{ B []byte }

type toy struct{}

func (toy) Name() string { return Name }

func (toy) Detect(p []byte) bool { return len(p) > 0 && p[0] == 0xAB }

func (toy) Size(m *codec.Message) int {
	n := 1 + 1 + 2 + len(m.Method) + 4
	if m.Type == codec.Exception {
		return n + 4 + len(m.Err.Message())
	}
	if b, ok := m.Payload.(*Bytes); ok {
		return n + len(b.B)
	}
	if b, ok := codec.RawBytes(m.Payload); ok {
		return n + len(b)
	}
	return -1
}

func (toy) Append(dst []byte, m *codec.Message) ([]byte, error) {
	dst = append(dst, 0xAB, byte(m.Type))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(m.Method)))
	dst = append(dst, m.Method...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.SeqID))
	if m.Type == codec.Exception {
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Err.TypeID()))
		return append(dst, m.Err.Message()...), nil
	}
	if raw, ok := codec.RawBytes(m.Payload); ok {
		return append(dst, raw...), nil
	}
	b, ok := m.Payload.(*Bytes)
	if !ok {
		return nil, status.Protocolf("toy: payload %T is not *Bytes", m.Payload)
	}
	return append(dst, b.B...), nil
}

func (toy) DecodeEnvelope(src []byte, m *codec.Message) (int, error) {
	if len(src) < 4 || src[0] != 0xAB {
		return 0, status.Protocolf("toy: bad magic")
	}
	n := int(binary.BigEndian.Uint16(src[2:]))
	if len(src) < 4+n+4 {
		return 0, status.Protocolf("toy: truncated envelope")
	}
	m.Type = codec.MessageType(src[1])
	m.Method = string(src[4 : 4+n])
	m.SeqID = int32(binary.BigEndian.Uint32(src[4+n:]))
	return 8 + n, nil
}

func (toy) DecodePayload(body []byte, m *codec.Message) error {
	if m.Type == codec.Exception {
		if len(body) < 4 {
			return status.Protocolf("toy: truncated exception")
		}
		m.Err = status.Exception(int32(binary.BigEndian.Uint32(body)), string(body[4:]))
		return nil
	}
	if codec.SetRaw(m.Payload, body) {
		return nil
	}
	b, ok := m.Payload.(*Bytes)
	if !ok {
		return status.Protocolf("toy: payload %T is not *Bytes", m.Payload)
	}
	b.B = append(b.B[:0], body...)
	return nil
}

// CarriesRaw implements codec.RawCarrier: a codec.Raw payload is the bytes
// after the envelope.
func (toy) CarriesRaw() bool { return true }

// Handler is what the test service calls.
type Handler func(ctx context.Context, in []byte) ([]byte, error)

// Service returns a service named "Toy" with methods "Echo" (calls h) and
// "Notify" (oneway, calls h and ignores the result).
func Service() *service.Info {
	var call service.Handler = func(ctx context.Context, impl any, args, result any) error {
		out, err := impl.(Handler)(ctx, args.(*Bytes).B)
		if err != nil {
			return err
		}
		if result != nil {
			result.(*Bytes).B = out
		}
		return nil
	}
	newB := func() any { return new(Bytes) }
	return &service.Info{
		Name:  "Toy",
		Codec: Name,
		Methods: map[string]*service.MethodInfo{
			"Echo":   {Name: "Echo", Handler: call, NewArgs: newB, NewResult: newB},
			"Notify": {Name: "Notify", Handler: call, NewArgs: newB, Oneway: true},
		},
	}
}
