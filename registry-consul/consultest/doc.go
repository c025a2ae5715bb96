// Package consultest runs real Consul agents for tests: a single dev agent
// (Start) or a cluster of servers on loopback addresses (StartCluster),
// each on free ports, stopped at the end of the test.
//
// The agent binary is Consul v1.14.11, the last release under MPL-2.0,
// built from the Go module proxy by the repository's scripts/consul.sh.
// [Binary] finds it: the SKIFF_CONSUL environment variable, else the path
// scripts/consul.sh builds to ($HOME/.cache/skiff/consul-1.14.11/consul).
// [Require] skips a test when the binary is missing, with a message saying
// how to build it, unless SKIFF_REQUIRE_CONSUL=1 (set by scripts/test.sh,
// which CI runs): then a missing binary fails the test, so CI never skips.
package consultest
