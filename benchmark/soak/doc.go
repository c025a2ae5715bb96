// Package soak is a long-running load test of a Skiff server (issue 20,
// Show 5): a mixed load (TTHeader pooled and multiplexed, gRPC unary
// calls and server streams, calls that time out, are cancelled or fail
// with a declared exception, short connections and clients made for one
// call) against a server in a separate process, found through a registry
// beside a second, in-process server that restarts every minute. It
// samples the measured server's RSS, goroutines and open descriptors, and
// at the end checks that RSS did not drift after the warm-up, that
// goroutines and descriptors came back to their baseline once the
// clients closed, and that no call failed unexpectedly.
//
// Run it with the soak command (benchmark/cmd/soak); the package's test
// runs a 20-second smoke version (SKIFF_SOAK=10m runs a longer one).
package soak
