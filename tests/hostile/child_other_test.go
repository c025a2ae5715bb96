//go:build !linux

package hostile_test

// childMain: the suite runs its server as a child process on Linux only
// (it reads the child's RSS from /proc).
func childMain() (int, bool) { return 0, false }
