// Package tlstest tests TLS and mTLS on every transport: Thrift Framed,
// TTHeader, Kitex Protobuf and gRPC, one server port for all of them, and
// the errors of a TLS/plaintext mismatch on either side.
package tlstest
