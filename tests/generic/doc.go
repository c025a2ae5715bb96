// Package generictest tests the generic module (binary, map and JSON
// generic calls and servers) against typed Skiff clients and servers,
// over the real codecs and transports on 127.0.0.1:
//
//   - JSON and map generic clients of a typed Thrift server, round trips
//     of every Thrift type (idl/all.thrift, code in gen/), on TTHeader,
//     TTHeader+Framed, Framed and Buffered;
//   - binary generic calls over Thrift, Kitex Protobuf and gRPC, and a
//     binary proxy built on the unknown-method handler;
//   - generic servers (binary, map, JSON) called by typed clients;
//   - protobuf JSON generic clients and servers (idl/wkt.proto, code in
//     pbgen/), unary and streaming over gRPC, unary over Kitex Protobuf;
//   - bad requests: a clear error naming the field path, nothing sent.
//
// gen.sh regenerates gen/ and pbgen/.
package generictest
