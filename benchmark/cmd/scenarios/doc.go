// Command scenarios runs the governance scenarios of issue 14 for Skiff and
// for Kitex v0.15.2 in the same run, and writes results/scenarios.md and
// results/scenarios.json.
//
// Run it from the benchmark module:
//
//	go run ./cmd/scenarios                                  # everything, about 10 minutes
//	go run ./cmd/scenarios -configs skiff-recommended,kitex-mixed -scenarios slow
//
// For every scenario and client configuration it starts 5 instances of the
// framework's echo server as child processes (this binary re-executed as
// `scenarios instance`, each in its own process group and killed by the
// kernel if the driver dies) on free ports of 127.0.0.1, with a handler
// that sleeps 1 ms. A client of the configuration over the 5 addresses (the
// static list of WithHostPorts, in both frameworks) then makes an open loop
// of calls: 2,000 a second, each started at its scheduled time whatever the
// others are doing. After 1 s of warm-up and 3 s of healthy traffic, the
// fault starts:
//
//   - slow: instance 0 takes 10 ms instead of 1 ms for 10 s;
//   - killed: instance 0 gets SIGKILL (its address stays listed);
//   - frozen: instance 0 gets SIGSTOP for 10 s (its kernel still accepts
//     connections, nothing answers) and SIGCONT after; every attempt has a
//     100 ms timeout;
//   - total-failure: every instance answers every call with an error for
//     5 s.
//
// The load goes on for 3 s after the fault. Instances take commands on
// their standard input ("slow 10", "fail 1", ...) and answer with the
// count of handler runs, which gives the server hits of the total failure.
// An instance middleware on the client counts the attempts to each address
// per 100 ms (after the pick, before the dial: failed dials count).
//
// Only the processes it started are signalled, by their pid; every wait
// has a deadline.
package main
