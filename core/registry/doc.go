// Package registry defines how a server announces itself to a service
// registry: a [Registry] registers and deregisters an [Info], which names
// every service the server serves and the address clients dial.
//
// A server configured with server.WithRegistry calls Register once, after
// its listener is open, and Deregister once when it stops, before it stops
// accepting connections, so clients that still resolve the instance in the
// meantime reach a server that answers. The conformance kit
// [github.com/skiffrpc/skiff/core/registrytest] checks a Registry together
// with the discovery.Resolver that reads the same store.
package registry
