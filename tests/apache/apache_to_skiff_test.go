package apache_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	gen "github.com/skiffrpc/skiff/tests/apache/gen-go/echo"
)

// TestApacheClientSkiffServer: an Apache Thrift Go client, over Framed and
// over Buffered with the strict Binary protocol, calls a Skiff server.
func TestApacheClientSkiffServer(t *testing.T) {
	for _, tr := range apacheTransports {
		t.Run(tr.name, func(t *testing.T) {
			impl := newSkiffImpl()
			addr := startSkiffServer(t, impl)
			ctx := context.Background()

			t.Run("Echo", func(t *testing.T) {
				c := newApacheClient(t, addr, tr) // a connection of its own
				req := sampleRequest()
				resp, err := c.Echo(ctx, req)
				if err != nil {
					t.Fatalf("Echo: %v", err)
				}
				want := &gen.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}
				if !reflect.DeepEqual(resp, want) {
					t.Fatalf("Echo = %+v, want %+v", resp, want)
				}
				// Optional fields left unset stay unset.
				resp, err = c.Echo(ctx, &gen.EchoRequest{Message: ""})
				if err != nil {
					t.Fatalf("Echo(empty): %v", err)
				}
				if !reflect.DeepEqual(resp, &gen.EchoResponse{}) {
					t.Fatalf("Echo(empty) = %+v, want the zero response", resp)
				}
			})

			t.Run("Fail", func(t *testing.T) {
				c := newApacheClient(t, addr, tr) // a connection of its own
				resp, err := c.Fail(ctx, 7)
				var ee *gen.EchoError
				if !errors.As(err, &ee) {
					t.Fatalf("Fail(7) = %v, %v (%T), want *EchoError", resp, err, err)
				}
				if ee.Code != 7 || ee.Reason != "failed on purpose" {
					t.Fatalf("Fail(7) = %+v, want code 7, reason %q", ee, "failed on purpose")
				}
			})

			t.Run("Notify", func(t *testing.T) {
				c := newApacheClient(t, addr, tr) // a connection of its own
				if err := c.Notify(ctx, "oneway ✓"); err != nil {
					t.Fatalf("Notify: %v", err)
				}
				if got := waitNotified(t, impl.notified); got != "oneway ✓" {
					t.Fatalf("handler saw %q, want %q", got, "oneway ✓")
				}
				// The connection still carries calls after a oneway.
				resp, err := c.Echo(ctx, &gen.EchoRequest{Message: "after notify"})
				if err != nil || resp.Message != "after notify" {
					t.Fatalf("Echo after Notify = %+v, %v", resp, err)
				}
			})

			t.Run("UnknownMethod", func(t *testing.T) {
				c := newApacheClient(t, addr, tr) // a connection of its own
				_, err := c.Missing(ctx, sampleRequest())
				var tae thrift.TApplicationException
				if !errors.As(err, &tae) {
					t.Fatalf("Missing = %v (%T), want a TApplicationException", err, err)
				}
				if tae.TypeId() != thrift.UNKNOWN_METHOD {
					t.Fatalf("Missing: TypeId = %d (%v), want UNKNOWN_METHOD (%d)", tae.TypeId(), tae, thrift.UNKNOWN_METHOD)
				}
				// The connection survives the exception.
				resp, err := c.Echo(ctx, &gen.EchoRequest{Message: "after missing"})
				if err != nil || resp.Message != "after missing" {
					t.Fatalf("Echo after Missing = %+v, %v", resp, err)
				}
			})
		})
	}
}
