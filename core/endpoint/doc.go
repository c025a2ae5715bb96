// Package endpoint defines the call shape that middleware wraps: an
// [Endpoint] takes a request and fills a response, a [Middleware] returns a
// new Endpoint around the next one, and [Chain] composes them with the first
// outermost. Governance (retry, breakers, limiters, tracing) is middleware.
package endpoint
