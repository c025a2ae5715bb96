// Package leaktest checks for leaked goroutines in tests of code that runs
// on Skiff's engines. It wraps go.uber.org/goleak and ignores the
// process-wide goroutines Netpoll keeps for its pollers and worker pool,
// which live as long as the process by design.
package leaktest
