// Package stream is Skiff's streaming SPI: the contract between a stream
// transport (HTTP/2, in the transport-http2 module), a stream message
// protocol (gRPC, in the codec-grpc module) and the client and server
// runtime, so that none of those modules imports another.
//
// It has three layers:
//
//   - Raw streams ([Protocol], [ServerConn], [ClientConn], [RawServerStream],
//     [RawClientStream]): ordered bytes in both directions plus header
//     blocks, as HTTP/2 gives them. A transport module implements these.
//   - Message protocols ([Codec], [Dispatcher]): turn raw streams into
//     calls and message streams (gRPC's length-prefixed messages, status
//     trailers, deadlines and metadata). A codec module implements these;
//     core/server implements [Dispatcher].
//   - Message streams ([ServerStream], [ClientStream]) and their typed,
//     generic forms ([BidiStreamingServer] and friends), which handlers and
//     generated client stubs use.
package stream
