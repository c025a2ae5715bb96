package codec

// Raw is a payload that is already encoded: the bytes a message codec
// writes after its envelope, such as a Thrift args or result struct or a
// protobuf message. Generic clients, proxies and unknown-method handlers
// use it to carry payloads they do not decode.
//
// On encode, a codec that carries raw payloads (see [RawCarrier]) accepts a
// Raw or a *Raw as the payload: Size is the envelope plus len, and Append
// copies the bytes verbatim, without checking them, so they must be one
// complete payload in the codec's format (an empty Raw writes no payload
// bytes at all). On decode into a *Raw the codec checks that the body holds
// one well-formed payload, bounded as its typed decoders are, and stores a
// copy of it: the Raw never aliases the read buffer, and a Raw the *Raw held
// before is not written to.
//
// For Thrift the bytes are the args struct of a call or the result struct
// of a reply (field 0 for the success value, the declared exceptions from
// field 1); for Kitex Protobuf and gRPC they are the request or response
// message.
type Raw []byte

// RawCarrier is an optional capability of a [Codec] or a [PayloadCodec]
// that carries [Raw] payloads as the Raw documentation says. The server
// serves unknown methods (server.WithUnknownMethodHandler) only on codecs
// that have it.
type RawCarrier interface {
	// CarriesRaw reports whether the codec encodes Raw and *Raw payloads
	// verbatim and decodes into a *Raw.
	CarriesRaw() bool
}

// CarriesRaw reports whether c, a [Codec] or a [PayloadCodec], is a
// [RawCarrier] that carries raw payloads.
func CarriesRaw(c any) bool {
	rc, ok := c.(RawCarrier)
	return ok && rc.CarriesRaw()
}

// RawBytes returns the bytes of v when v is a [Raw] or a *Raw (nil for a
// nil *Raw) and true; nil and false for any other value. Codecs call it to
// recognise a raw payload on encode.
func RawBytes(v any) ([]byte, bool) {
	switch r := v.(type) {
	case Raw:
		return r, true
	case *Raw:
		if r == nil {
			return nil, true
		}
		return *r, true
	}
	return nil, false
}

// SetRaw stores a copy of b in v when v is a non-nil *Raw and reports
// whether it did. A codec calls it on decode, once it has checked b. The
// copy is nil when b is empty.
func SetRaw(v any, b []byte) bool {
	r, ok := v.(*Raw)
	if !ok || r == nil {
		return false
	}
	if len(b) == 0 {
		*r = nil
	} else {
		*r = append(Raw(make([]byte, 0, len(b))), b...)
	}
	return true
}
