// Package codec defines message protocols (the envelope around a payload:
// message type, method name, sequence id) and payload serializers, and a
// registry of both by name.
//
// A message [Codec] turns a [Message] into bytes and back. It knows nothing
// about framing or connections; a transport protocol
// ([github.com/skiffrpc/skiff/core/transport.Protocol]) frames what the codec
// writes. Codecs decode in two steps, [Codec.DecodeEnvelope] then
// [Codec.DecodePayload], so the runtime can pick the payload type from the
// method name in between.
//
// A [PayloadCodec] marshals one payload value (a struct). Fast paths are
// optional capabilities found by type assertion: [SizeAppender].
//
// [Raw] is a payload that is already encoded (generic clients, proxies,
// server.WithUnknownMethodHandler): codecs with the [RawCarrier] capability
// write it verbatim after their envelope and decode a body into it as a
// checked copy.
package codec
