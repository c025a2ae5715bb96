// Package leaktest checks for leaked goroutines in tests of code that runs
// on Skiff's engines. After a test (VerifyNone) or a package's tests
// (VerifyTestMain) it reads every goroutine's stack and fails when one is
// left that neither the testing package, the runtime, nor the engines own.
// It ignores the process-wide goroutines Netpoll keeps for its pollers and
// worker pool, which live as long as the process by design, and it waits
// (up to a few seconds) for goroutines that are on their way out.
//
// The check is written here, on the runtime's stack dump, rather than on
// go.uber.org/goleak, so that core, which exports this package for the
// tests of plugin modules, adds no module to its users' dependency graph.
// The options keep goleak's names (IgnoreAnyFunction, IgnoreTopFunction,
// IgnoreCurrent) and meaning.
package leaktest
