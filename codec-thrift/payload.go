package thriftcodec

import (
	"fmt"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// Payload is the Thrift Binary payload codec, registered under the name
// "thrift": it marshals one struct with no message envelope, for Thrift
// payloads carried by other protocols (gRPC with a Thrift content subtype).
// It also implements [codec.SizeAppender]. It is stateless and safe for
// concurrent use.
//
// Values are structs as for [Codec]: a [FastCodec], a thrift.TStruct or an
// encoded struct as a codec.Raw (or *codec.Raw), marshalled verbatim. A
// nil value marshals as an empty struct. Unmarshal requires data to hold
// exactly one struct: trailing bytes are a protocol error; unmarshalling
// into a *codec.Raw checks the struct and copies it.
var Payload codec.PayloadCodec = payloadCodec{}

type payloadCodec struct{}

var (
	_ codec.PayloadCodec = payloadCodec{}
	_ codec.SizeAppender = payloadCodec{}
	_ codec.RawCarrier   = payloadCodec{}
)

func (payloadCodec) Name() string { return "thrift" }

// CarriesRaw implements codec.RawCarrier: a codec.Raw marshals verbatim;
// Unmarshal into a *codec.Raw checks that data is exactly one struct and
// copies it.
func (payloadCodec) CarriesRaw() bool { return true }

func (p payloadCodec) Marshal(v any) ([]byte, error) {
	var b []byte
	if n := p.Size(v); n >= 0 {
		b = make([]byte, 0, n)
	}
	return appendStruct(b, v)
}

func (payloadCodec) Unmarshal(data []byte, v any) error {
	if v == nil {
		return status.Errorf(status.Internal, "thrift: Unmarshal into nil")
	}
	n, err := readStruct(data, v)
	if err != nil {
		return err
	}
	if n != len(data) {
		return status.Protocolf("thrift: %d bytes after the struct", len(data)-n)
	}
	return nil
}

func (payloadCodec) Size(v any) int {
	switch p := v.(type) {
	case nil:
		return StopSize
	case FastCodec:
		return p.FastSize()
	case codec.Raw, *codec.Raw:
		b, _ := codec.RawBytes(p)
		return len(b)
	}
	return -1
}

func (payloadCodec) AppendMarshal(dst []byte, v any) ([]byte, error) { return appendStruct(dst, v) }

func typeName(v any) string { return fmt.Sprintf("%T", v) }
