// Package skiffjson is a third-party Skiff codec built against the core
// module alone: messages whose envelope and payload are JSON. A message is
// one line of JSON envelope, then the payload:
//
//	{"type":1,"seq":7,"method":"Echo"}
//	{"message":"hi"}
//
// An exception's payload is its status code, kind, type id and message, so
// a handler's error reaches the client with its code. Importing the package
// registers the message codec under [Name] and the JSON payload codec
// under "json".
package skiffjson

import (
	"bytes"
	"encoding/json"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// Name is the message codec's registry name; give it to service.Info.Codec.
const Name = "example.json"

// Codec is the message codec.
var Codec codec.Codec = messageCodec{}

// Payload is the JSON payload codec.
var Payload codec.PayloadCodec = payloadCodec{}

func init() {
	codec.Register(Codec)
	codec.RegisterPayload(Payload)
}

type payloadCodec struct{}

func (payloadCodec) Name() string                    { return "json" }
func (payloadCodec) Marshal(v any) ([]byte, error)   { return json.Marshal(codec.Unwrap(v)) }
func (payloadCodec) Unmarshal(b []byte, v any) error { return json.Unmarshal(b, codec.Unwrap(v)) }

// header is the envelope; "type" first, so every message starts with magic.
type header struct {
	Type   codec.MessageType `json:"type"`
	Seq    int32             `json:"seq"`
	Method string            `json:"method"`
}

const magic = `{"type":`

// exception is an exception's payload.
type exception struct {
	Code    status.Code `json:"code"`
	Kind    status.Kind `json:"kind"`
	TypeID  int32       `json:"type_id"`
	Message string      `json:"message"`
}

type messageCodec struct{}

func (messageCodec) Name() string { return Name }

func (messageCodec) Detect(p []byte) bool {
	n := min(len(p), len(magic))
	return n > 0 && string(p[:n]) == magic[:n]
}

func (messageCodec) Size(*codec.Message) int { return -1 }

func (messageCodec) Append(dst []byte, m *codec.Message) ([]byte, error) {
	if m.Type < codec.Call || m.Type > codec.Oneway {
		return dst, status.Protocolf("%s: invalid message type %v", Name, m.Type)
	}
	h, err := json.Marshal(header{Type: m.Type, Seq: m.SeqID, Method: m.Method})
	if err != nil {
		return dst, err
	}
	var body []byte
	if m.Type == codec.Exception {
		if m.Err == nil {
			return dst, status.Protocolf("%s: exception without Err", Name)
		}
		body, err = json.Marshal(exception{m.Err.Code(), m.Err.WireKind(), m.Err.TypeID(), m.Err.Message()})
	} else {
		body, err = Payload.Marshal(m.Payload)
	}
	if err != nil {
		return dst, status.Protocolf("%s: %v", Name, err)
	}
	dst = append(append(dst, h...), '\n')
	return append(dst, body...), nil
}

func (messageCodec) DecodeEnvelope(src []byte, m *codec.Message) (int, error) {
	i := bytes.IndexByte(src, '\n')
	if i < 0 {
		return 0, status.Protocolf("%s: no end of envelope", Name)
	}
	var h header
	if err := json.Unmarshal(src[:i], &h); err != nil {
		return 0, status.Protocolf("%s: envelope: %v", Name, err)
	}
	m.Type, m.SeqID, m.Method = h.Type, h.Seq, h.Method
	return i + 1, nil
}

func (messageCodec) DecodePayload(body []byte, m *codec.Message) error {
	if m.Type == codec.Exception {
		var e exception
		if err := json.Unmarshal(body, &e); err != nil {
			return status.Protocolf("%s: exception: %v", Name, err)
		}
		m.Err = status.FromWire(e.Code, e.Kind, e.TypeID, e.Message)
		return nil
	}
	if err := Payload.Unmarshal(body, m.Payload); err != nil {
		return status.Protocolf("%s: payload: %v", Name, err)
	}
	return nil
}
