// Package tenant is a per-call option defined outside Skiff's core: the
// caller names the tenant a call is made for with [With], and the client
// middleware [Middleware] sends it to the server as the request metadata
// key [MetadataKey] (callinfo.Info.Request), where handlers read it with
// [FromServer]. The metadata reaches the server on transports that carry
// it (TTHeader, HTTP/2, skiffext's metaframe), not on plain Framed.
package tenant

import (
	"context"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
)

// MetadataKey is the request metadata key that carries the tenant.
const MetadataKey = "x-skiffext-tenant"

var key = callinfo.NewKey[string]("skiffext.tenant")

// With makes a call on behalf of tenant.
func With(tenant string) client.CallOption { return client.WithCallOption(key, tenant) }

// Of returns the tenant the call of ctx was made for (client side), and
// whether one was given.
func Of(ctx context.Context) (string, bool) { return key.Get(callinfo.From(ctx)) }

// Middleware returns client middleware that copies the call's tenant, if
// any, into its request metadata, and then calls observe (which may be
// nil) with the tenant it saw ("" for none).
func Middleware(observe func(tenant string)) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			t, ok := Of(ctx)
			if ok {
				callinfo.From(ctx).Request.Set(MetadataKey, t)
			}
			if observe != nil {
				observe(t)
			}
			return next(ctx, req, resp)
		}
	}
}

// FromServer returns the tenant a served call was made for, from its
// request metadata.
func FromServer(ctx context.Context) (string, bool) {
	ci := callinfo.From(ctx)
	if ci == nil {
		return "", false
	}
	return ci.Request.Get(MetadataKey)
}
