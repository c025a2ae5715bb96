// Package grpccodec is gRPC over Skiff's raw-stream SPI
// ([github.com/skiffrpc/skiff/core/stream]): it turns the raw HTTP/2 streams
// of a stream transport (such as transport-http2) into gRPC calls on the
// server and into gRPC message streams and unary calls on the client,
// without importing the transport.
//
// It implements the wire rules of gRPC's PROTOCOL-HTTP2.md: ":path" routing
// ("/" + package.Service + "/" + Method), the content types
// application/grpc, application/grpc+proto and application/grpc+thrift,
// 5-byte length-prefixed messages with a bounded receive size
// ([DefaultMaxRecvMsgSize]), grpc-timeout in both directions, the
// grpc-status / grpc-message / grpc-status-details-bin trailers (also as a
// trailers-only response), metadata as headers and trailers ([MD], with
// base64 "-bin" values), gzip compression, and status codes as gRPC defines
// them (an unknown service or method is UNIMPLEMENTED, unless the server
// has an unknown-method handler, server.WithUnknownMethodHandler, which
// then serves it as a unary call with raw messages).
//
// The package registers a [Codec] with default [Options] under the name
// "grpc" from init, so importing it (and a stream transport) is enough for
// a Skiff server to serve gRPC and a client to call it. Payloads are
// protobuf messages (proto.Message), values that encode themselves
// ([Marshaler] and [Unmarshaler]), or, for application/grpc+thrift, Thrift
// structs through the payload codec registered in core/codec under
// "thrift". Generated argument and result wrappers (codec.Wrapper) are
// unwrapped. A codec.Raw is a message encoded already: it is sent
// verbatim, and one received into a *codec.Raw is checked and copied
// ([Codec.CarriesRaw]), so a generic client can call a method named at
// call time.
//
// Handlers read request metadata with [FromIncomingContext] and set
// response metadata with [SetHeader], [SendHeader] and [SetTrailer];
// clients send metadata with [NewOutgoingContext] or
// [AppendToOutgoingContext] and read the response's with
// [WithResponseHeader] and [WithResponseTrailer]. Kitex-style metainfo
// (core/metainfo) travels as rpc-transit-* and rpc-persist-* headers and
// backward values as rpc-backward-* trailers.
//
// Errors are *status.Error values with the gRPC code; [WithDetails] and
// [Details] carry google.rpc.Status details. A *status.BizError travels
// as Kitex sends it: grpc-status 13 with the message, plus biz-status and
// biz-extra (JSON) trailers.
//
// The subpackages health and reflection are the grpc.health.v1 health
// service and the gRPC server reflection service, for grpcurl and load
// balancers.
package grpccodec
