// Package limiter protects a Skiff server from more work than it can do,
// and a client from hammering a server that is already refusing work.
//
// On the server, a [Limiter] holds fixed limits, server-wide and per
// method: QPS (a token bucket), concurrency (calls in flight) and open
// connections; and, as an option, an adaptive limit that sheds calls once
// they queue, with no number to configure. Install it with
// server.WithSuite. Every limit can be changed while the server runs.
//
// A rejected call gets an error matching status.ErrOverload (code
// ResourceExhausted), on every protocol: a Thrift or Kitex Protobuf
// exception that Skiff clients read back as ErrOverload, or gRPC status
// RESOURCE_EXHAUSTED with the overload category in the "skiff-kind"
// header. The connection stays open: only the connection limit closes
// connections, and it does so when they are accepted, before any request
// is read.
//
// On the client, a [Throttle] is Google SRE's client-side adaptive
// throttling: once the server accepts fewer calls than it is sent, the
// client rejects the excess itself, with status.ErrOverload, without
// sending it. Install it with client.WithSuite.
package limiter
