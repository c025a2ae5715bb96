// Package thriftcodec speaks Thrift Binary, byte for byte as Apache Thrift
// and Kitex do.
//
// It provides:
//
//   - [Codec], the strict Thrift Binary message codec (registry name
//     "thrift"): the envelope (u32 0x80010000|type, method name, sequence id)
//     and the payload struct. An Exception message carries a
//     TApplicationException, decoded into a remote *status.Error.
//   - [Payload], the payload codec (registry name "thrift") that marshals a
//     single struct without an envelope, for Thrift payloads carried inside
//     other protocols (gRPC).
//   - [Buffered], the unframed transport (registry name "buffered"): a bare
//     message whose length is found by walking its struct, and [Framed], an
//     alias of the core Framed transport.
//   - [TTStream], the stream codec (registry name "ttstream-thrift") of
//     Thrift streams over TTHeader Streaming, Kitex's streamx protocol,
//     with transport-ttheader's TTStream transport: one struct per data
//     frame, handler errors as an EXCEPTION message in the trailer frame,
//     business errors as biz-status keys, metainfo and metadata as header
//     keys.
//   - [FastCodec], the fast path that generated structs implement, and the
//     allocation-free helpers that generated code calls ([AppendI32],
//     [ReadString], [Skip], ...).
//
// Importing the package registers [Codec], [Payload], [Buffered] and
// [TTStream] in the core registries.
//
// # Payload values
//
// A payload is a pointer to a struct that implements [FastCodec] (the fast
// path, found by type assertion) or Apache Thrift's thrift.TStruct (the slow
// path, encoded with TBinaryProtocol). A nil payload encodes as an empty
// struct; decoding into a nil payload validates and discards the struct.
//
// A codec.Raw (or *codec.Raw) payload is a struct already encoded: it is
// written verbatim, and decoding into a *codec.Raw validates the struct
// with [Skip] (bounded as every decoder here) and stores a copy of its
// bytes. [Codec] and [Payload] have the codec.RawCarrier capability.
//
// # Limits
//
// Decoders never trust a length: every string, binary and container length
// is checked against the bytes left, struct and container nesting is bounded
// by [MaxDepth], and method names by [MaxMethodNameLen]. Malformed input gives
// a *status.Error that matches status.ErrProtocol with errors.Is.
package thriftcodec
