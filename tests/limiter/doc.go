// Package limiter holds the limiter module's tests over the real stack:
// Skiff servers and clients on loopback over TTHeader (Thrift), Kitex
// Protobuf and gRPC.
package limiter
