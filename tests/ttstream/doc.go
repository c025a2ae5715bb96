// Package ttstream holds the tests of Thrift streaming over TTHeader
// Streaming (ttstream): Skiff to Skiff, and interoperability with real
// Kitex v0.15.2 peers on 127.0.0.1 both ways (client, server and
// bidirectional streams, metadata, handler and business errors,
// cancellation).
//
// stream.thrift is the IDL. kitex_gen is Kitex-generated code for it
// (kitex -streamx, Kitex v0.15.2, thriftgo 0.4.3); skiff_gen is what
// Skiff's generator writes for it (go run ./tool/cmd/skiff -out
// tests/ttstream/skiff_gen -module
// github.com/skiffrpc/skiff/tests/ttstream/skiff_gen
// tests/ttstream/stream.thrift): typed stream APIs from the
// streaming.mode annotations.
package ttstream
