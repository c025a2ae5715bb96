// Package retry retries Skiff client calls: failure retry, backup
// (hedged) requests and both mixed, within a retry budget that is on by
// default, with chain stop, deadline stop, idempotency, per-method and
// per-call policies that can change at run time, and a fallback.
//
// A [Retryer] is a client.Suite: install it with client.WithSuite. It adds
// a client middleware, which calls the rest of the chain once per attempt
// (each call is a new callinfo.Attempt, balanced anew), and a balancer
// wrapper, which sends a retry to an instance the call has not tried yet
// (or to the same one when the policy asks for it).
//
//	r := retry.New(
//		retry.WithMethodPolicy("Get", retry.Policy{MaxAttempts: 3}),
//		retry.WithIdempotent("Get"),
//	)
//	cli, err := client.New(svc, client.WithSuite(r), ...)
//
// What is retried: a request that never reached the wire (an error
// matching status.ErrUnsent, or a circuit breaker's rejection) always, on
// another instance; any other failure only for a method marked idempotent
// ([WithIdempotent]) and only as its [Policy] says (timeouts, lost
// connections, chosen status codes, a predicate on the response).
// Declared exceptions and business errors are answers, never retried.
//
// What stops retries: the policy's attempt count (at most [MaxAttempts])
// and total duration, the call's deadline (no attempt starts that the
// recent latency of the method says cannot finish in time), the retry
// budget (retries stay within a share of the calls, per target service and
// method), the optional error-rate circuit, and chain stop: a request that
// is itself a retry carries the persistent metainfo value RetryReq (as
// Kitex sends it), and the services it calls do not retry again.
//
// Counters are in [Retryer.Stats]; a tracer finds what happened to one
// call with [ReportFrom].
package retry
