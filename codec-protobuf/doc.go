// Package protocodec speaks Kitex Protobuf, the envelope Kitex puts around a
// bare protobuf message, byte for byte as Kitex v0.15 reads and writes it,
// and provides the protobuf payload codec that other protocols (gRPC) use.
//
// It provides:
//
//   - [Codec], the Kitex Protobuf message codec (registry name "protobuf"):
//     u32 0x90010000|type, u32 method name length, method name, u32
//     sequence id, then the protobuf-encoded message with no wrapper. An
//     Exception message carries Kitex's ErrorProto {int32 TypeID = 1;
//     string Message = 2}, decoded into a remote *status.Error.
//   - [Payload], the payload codec (registry name "protobuf") that
//     marshals one message with no envelope. It implements
//     [codec.SizeAppender].
//
// Importing the package registers both in the core registries.
//
// # Framing
//
// Kitex Protobuf messages carry no length of their own, so they always
// travel framed: Kitex sends them as TTHeader+Framed whatever transport its
// client is asked for, and accepts plain Framed too. Use the
// transport-ttheader module's TTHeaderFramed (or core's transport.Framed)
// on a Skiff client; a Skiff server answers in the form it was asked in.
// Kitex writes protocol id 0 in the TTHeader for Kitex Protobuf, as does a
// Skiff client, and both sides tell the codec by the 0x9001 magic.
//
// # Payload values
//
// A payload is a proto.Message (protoc-gen-go output) or a generated
// argument or result wrapper implementing [codec.Wrapper] whose Unwrap
// returns one. A nil payload encodes as an empty message; decoding into a
// nil payload checks the body is well-formed protobuf and discards it.
//
// A codec.Raw (or *codec.Raw) payload is a message already encoded: it is
// written verbatim, and decoding into a *codec.Raw checks that the body is
// well-formed protobuf at the wire level (tags, lengths, groups; the
// message type is not known) and stores a copy of it. [Codec] and
// [Payload] have the codec.RawCarrier capability.
//
// Encoding takes the exact size with proto.Size first and then appends with
// proto.MarshalOptions.MarshalAppend straight into the caller's buffer, so
// a transport reserves the frame once. Decoding always copies: decoded
// strings and bytes never alias the read buffer, which the runtime releases
// after the decode.
//
// # Limits
//
// Decoders never trust a length: method names are bounded by
// [MaxMethodNameLen] and the frame, protobuf lengths by the body, and
// nesting by protobuf-go's recursion limit. Malformed input gives a
// *status.Error that matches status.ErrProtocol with errors.Is.
package protocodec
