// Package loadbalance tests the loadbalance module's balancers on the
// real stack: Skiff echo servers and clients on 127.0.0.1 over TTHeader
// (issue 14, Show 2). Power of two choices with peak-EWMA latency avoids
// an instance whose handler is slow; the outlier detector ejects an
// instance whose handler fails, or that was stopped, and lets it back
// after its backoff, while declared exceptions and business errors do not
// count against an instance; consistent hashing keeps a key on one
// instance.
package loadbalance
