// Package callinfo holds the facts of one call (caller, callee, method,
// address, sequence id, timeouts, stats) and carries them in the context.
//
// An [Info] is pooled and is itself a [context.Context] wrapping the
// caller's context, so attaching it to a call costs no allocation. The
// runtime releases it when the call ends: handlers and middleware must not
// keep the context, or the Info, after they return.
package callinfo
