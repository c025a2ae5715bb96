// Package consul holds the tests of registry-consul with real Skiff
// servers and clients on loopback and real Consul agents (built by
// scripts/consul.sh, run through registry-consul/consultest): calls spread
// over registered servers, graceful stop and SIGKILL of a server process,
// the agent stopped for 10 s, a three-server Consul cluster losing its
// leader, and registration churn over 200 instances.
package consul
