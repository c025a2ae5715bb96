// Command benchdrive runs the echo benchmark of cmd/bench for every
// framework and scenario and writes the results: results/latest.json,
// results/latest.md and PNG charts in results/.
//
// Run it from the benchmark module:
//
//	go run ./cmd/benchdrive                 # full run, about 12 minutes
//	go run ./cmd/benchdrive -quick          # smoke run, under 2 minutes
//	go run ./cmd/benchdrive -frameworks skiff-framed,kitex-framed -conc 100 -sizes 1024
//
// It builds cmd/bench once per framework family (Skiff, Kitex, grpc-go,
// raw), with build tags that leave the other families out, so that every
// server and client process links only its own framework, as a real
// service does; -one-binary builds one binary with them all instead (how
// every run before December 2026 was made: that put Kitex's init-time
// caches, about 19 MB of heap, in Skiff's processes too, which lengthened
// their garbage collections). For each run it builds nothing new, picks a
// free port on 127.0.0.1, starts the server with `taskset -c 0` and then the
// client with `taskset -c 1` (server on CPU 0, client on CPU 1), each in its
// own process group. The client warms up, measures, and prints its result;
// benchdrive reads the server's CPU time from /proc/<pid>/stat at the
// window's edges and its VmRSS at the end, then stops the server's process
// group. Every wait has a deadline, and only the processes it started are
// signalled.
package main
