// Package ttstream holds the tests of Thrift streaming over TTHeader
// Streaming (ttstream): Skiff to Skiff, and interoperability with real
// Kitex v0.15.2 peers on 127.0.0.1 both ways (client, server and
// bidirectional streams, metadata, handler and business errors,
// cancellation).
//
// stream.thrift is the IDL. kitex_gen is Kitex-generated code for it
// (kitex -streamx, Kitex v0.15.2, thriftgo 0.4.3); skiff_gen holds the
// structs Skiff's generator writes for it. The Skiff streaming service
// descriptor is written by hand in service_test.go.
package ttstream
