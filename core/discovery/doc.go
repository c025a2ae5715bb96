// Package discovery defines how a client finds the instances of a service:
// a [Resolver] turns a target into a [Result] of [Instance]s. [NewStatic]
// is a resolver over a fixed list, which direct access
// (client.WithHostPorts) uses. An [HTTPResolver] turns the URL of a call
// sent with client.WithURL into an address ([NewHTTPResolver] is the
// default, over DNS).
package discovery
