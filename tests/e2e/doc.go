// Package e2e holds Skiff's end-to-end tests: the echo example's server and
// client over the real engines (Netpoll and std) on 127.0.0.1, with Thrift
// Framed and Buffered: timeouts, graceful shutdown, bad input, and the
// loopback benchmarks.
package e2e
