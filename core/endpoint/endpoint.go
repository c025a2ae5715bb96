package endpoint

import "context"

// Endpoint serves one call: req is the argument value, resp the result
// value to fill. On the client both are the generated argument and result
// structs; on the server the same.
type Endpoint func(ctx context.Context, req, resp any) error

// Middleware wraps an Endpoint. It may act before and after calling next,
// or answer without calling it.
type Middleware func(next Endpoint) Endpoint

// Chain returns one Middleware that applies mws with mws[0] outermost.
// Chain() returns the identity middleware.
func Chain(mws ...Middleware) Middleware {
	return func(next Endpoint) Endpoint {
		for i := len(mws) - 1; i >= 0; i-- {
			next = mws[i](next)
		}
		return next
	}
}

// Build returns ep wrapped by mws, with mws[0] outermost.
func Build(ep Endpoint, mws ...Middleware) Endpoint { return Chain(mws...)(ep) }
