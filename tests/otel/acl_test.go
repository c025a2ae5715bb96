package otel_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/skiffrpc/skiff/core/acl"
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	skiffotel "github.com/skiffrpc/skiff/otel"
	"go.opentelemetry.io/otel/codes"
)

// token is client middleware that sends an access token in the request
// metadata (TTHeader and gRPC carry it alike).
func token(v string) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			callinfo.From(ctx).Request.Set("x-acl-token", v)
			return next(ctx, req, resp)
		}
	}
}

// TestACLPermissionDenied: a server rule that rejects calls without the
// token "friend" answers every protocol with PermissionDenied, which the client
// receives as that code; the handler never runs; the server span records
// the rejection as the caller's mistake (error.type, no Error status) and
// the client span as a failure.
func TestACLPermissionDenied(t *testing.T) {
	rule := func(ctx context.Context, _ any) error {
		if v, _ := callinfo.From(ctx).Request.Get("x-acl-token"); v != "friend" {
			return errors.New("no valid token")
		}
		return nil
	}
	for _, st := range []stack{thriftTTHeader(), kitexProtobuf(), grpcStack()} {
		t.Run(st.name, func(t *testing.T) {
			tel := newTelemetry(t)
			var handled atomic.Int32
			addr := startHop(t, hop{down: func(ctx context.Context, text string) error {
				handled.Add(1)
				return nil
			}}, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)), server.WithMiddleware(acl.Middleware(rule)))
			stranger := st.dial(t, addr, client.WithMiddleware(token("stranger")), client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)))
			err := stranger(context.Background(), "ok")
			if status.CodeOf(err) != status.PermissionDenied {
				t.Fatalf("rejected call returned %v (code %v), want PermissionDenied", err, status.CodeOf(err))
			}
			if handled.Load() != 0 {
				t.Fatal("the handler ran for a rejected call")
			}
			for _, s := range tel.waitSpans(t, 2) {
				var errType string
				for _, kv := range s.Attributes {
					if kv.Key == "error.type" {
						errType = kv.Value.AsString()
					}
				}
				wantStatus := codes.Error
				if s.SpanKind.String() == "server" {
					wantStatus = codes.Unset
				}
				if errType != "permission_denied" || s.Status.Code != wantStatus {
					t.Errorf("%s span: error.type %q status %v", s.SpanKind, errType, s.Status.Code)
				}
			}

			friend := st.dial(t, addr, client.WithMiddleware(token("friend")))
			if err := friend(context.Background(), "ok"); err != nil {
				t.Fatalf("allowed caller: %v", err)
			}
			if handled.Load() != 1 {
				t.Fatalf("handler ran %d times, want 1", handled.Load())
			}
		})
	}
}
