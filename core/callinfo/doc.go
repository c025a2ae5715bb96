// Package callinfo holds the facts of one call (caller, callee, method,
// timeouts, stats) and of each of its attempts (instance, address, sequence
// id, wire stats), and carries them in the context.
//
// An [Info] is itself a [context.Context] wrapping the caller's context, so
// attaching it costs no allocation beyond the Info. Infos are not pooled: a
// handler or middleware may keep its context (in a goroutine, or detached
// with context.WithoutCancel) and it keeps describing its own call.
//
// On the client each try of a call on an instance is an [Attempt] with its
// own record; retries and backup requests start more attempts, which may
// run at once. [AttemptFrom] finds the attempt a context runs in.
package callinfo
