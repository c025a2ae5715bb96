// Package streamtest is the conformance kit for stream transports: the raw
// stream SPI of [github.com/skiffrpc/skiff/core/stream] ([stream.Protocol],
// [stream.ServerConn], [stream.ClientConn], [stream.RawServerStream] and
// [stream.RawClientStream]). A transport module runs [Run] against its
// protocol from its own tests:
//
//	func TestConformance(t *testing.T) {
//		streamtest.Run(t, mytransport.New(), streamtest.Params{})
//	}
//
// Run serves the protocol on loopback TCP connections of Skiff's engines
// the way core/server does (it peeks at the first bytes, hands the
// connection to NewServerConn and runs Serve on the engine's goroutine) and
// dials them the way core/client does (NewClientConn on a dialled
// connection). Its checks, listed on [Run], cover header blocks, data in
// both directions (small, flushed, and larger than any flow-control
// window), many streams on one connection, resets from either side, context
// cancellation and deadlines, closing either end, and graceful shutdown.
// Every check ends by closing its connections and failing if goroutines
// remain (see [github.com/skiffrpc/skiff/core/leaktest]).
//
// Run checks only what the SPI's documentation promises. Where a behaviour
// is common but not promised (the status category of the error a canceled
// stream fails with, whether a client learns of a server's graceful
// shutdown before the connection closes), Run logs what it saw instead of
// failing.
//
// Run uses only core, so a module outside this repository can run it. Its
// subtests do not run in parallel; do not run Run in parallel with other
// tests of the same binary that start goroutines, or its leak checks will
// see theirs.
package streamtest
