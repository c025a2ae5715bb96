// Package consul is the service discovery example: echo servers register
// themselves in Consul through registry-consul, and a client finds them
// there and spreads its calls over them. Command consul-echo runs it
// against a local dev agent (consul agent -dev).
package consul
