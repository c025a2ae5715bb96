// Package breaker is Skiff's circuit breaker, built on
// github.com/sony/gobreaker/v2. A [Suite] keeps two levels of breakers for
// the clients it is given to:
//
//   - service level: one breaker per (caller, callee service, method), in
//     a client middleware ([Suite.ServiceMiddleware]); an open breaker
//     fails the call at once with an error matching status.ErrCircuitOpen;
//   - instance level: one breaker per instance address, in a balancer
//     wrapper ([Suite.WrapBalancer]); the balancer passes over open
//     instances and fails the pick with status.ErrCircuitOpen only when
//     every instance is open, and breakers of instances that discovery
//     removes are dropped.
//
// A closed breaker trips when the error rate over a sliding window
// reaches [Config.ErrorRate] with at least [Config.MinSamples] outcomes;
// after [Config.OpenTimeout] it lets [Config.HalfOpenProbes] probe calls
// through, whose successes close it and any failure opens it again. What
// counts as a failure is decided by a [Classifier] ([DefaultClassifier]:
// timeouts, connect and send failures, lost connections and remote
// internal errors count; business errors, declared exceptions and
// cancellations never do). Configs can be changed per key at run time,
// and state changes are reported as [Event] values and counted in [Stats].
//
// Usage:
//
//	b := breaker.NewSuite(breaker.WithServiceConfig(breaker.Config{MinSamples: 50}))
//	cli, err := client.New(svc, client.WithResolver(r), client.WithSuite(b))
package breaker
