// Command overload measures how a server behaves when it is offered three
// times the calls it can serve: goodput and the p99 latency of the calls
// that succeed, for a Skiff server without a limiter, with the limiter
// module's adaptive limit (no number configured), and for Kitex v0.15.2
// without a limiter and with its QPS limiter at the measured capacity and
// at half of it.
//
// The handler burns about 1 ms of CPU. The server runs pinned to one CPU
// (taskset -c 0), the load generator on another (taskset -c 1); both are
// this binary, run again in a role. Only 127.0.0.1 is used, every wait is
// bounded, and only the processes it started are signalled.
//
//	go run ./cmd/overload            # about 2 minutes; prints a Markdown table
//
// Roles, for running by hand:
//
//	overload server -kind skiff|skiff-adaptive|kitex|kitex-qps -qps N -addr 127.0.0.1:PORT
//	overload load -addr ... -rate R -warmup 2s -duration 5s -timeout 1s   (open loop)
//	overload load -addr ... -conc C ...                                   (closed loop)
package main
