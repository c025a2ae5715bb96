// Package client is Skiff's RPC client. A [Client] calls the methods of one
// service: it runs the middleware chain, resolves and balances to an
// instance (or uses the addresses of [WithHostPorts] or the per-call
// [WithHostPort]), runs instance middleware, and sends the request over a
// pooled connection with the configured transport and codec.
//
// Connections come from a long-connection pool by default (idle connections
// kept per address and globally, evicted after an idle timeout), or are
// made per call with [WithShortConnection]. [WithRPCTimeout] bounds a call:
// when it passes the call returns an error matching status.ErrTimeout and
// the connection is closed, never reused.
package client
