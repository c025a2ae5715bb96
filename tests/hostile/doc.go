// Package hostile is issue 20's Show 1: a hostile-client suite run against
// one Skiff server on each engine (std and Netpoll), while a healthy
// client measures its own error rate and p99 latency. The server runs in a
// child process (this test binary, re-executed), so that its memory is
// measured honestly, as RSS from /proc, apart from the attackers'. See
// README.md for the phases, the bounds and the numbers measured.
package hostile
