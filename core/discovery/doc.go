// Package discovery defines how a client finds the instances of a service:
// a [Resolver] turns a target into a [Result] of [Instance]s. [NewStatic]
// is a resolver over a fixed list, which direct access
// (client.WithHostPorts) uses.
package discovery
