package apache_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	gen "github.com/skiffrpc/skiff/tests/apache/gen-go/echo"
)

// TestApacheToApache proves the Apache helpers (and the generated code with
// the v0.22 library) before any Skiff code is involved.
func TestApacheToApache(t *testing.T) {
	for _, tr := range apacheTransports {
		t.Run(tr.name, func(t *testing.T) {
			h := newApacheHandler()
			addr := startApacheServer(t, tr, h)
			c := newApacheClient(t, addr, tr)
			ctx := context.Background()

			req := sampleRequest()
			resp, err := c.Echo(ctx, req)
			if err != nil {
				t.Fatalf("Echo: %v", err)
			}
			want := &gen.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}
			if !reflect.DeepEqual(resp, want) {
				t.Fatalf("Echo = %+v, want %+v", resp, want)
			}

			_, err = c.Fail(ctx, 7)
			var ee *gen.EchoError
			if !errors.As(err, &ee) || ee.Code != 7 {
				t.Fatalf("Fail(7) = %v, want EchoError code 7", err)
			}

			if err := c.Notify(ctx, "ping"); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			if got := waitNotified(t, h.notified); got != "ping" {
				t.Fatalf("handler saw %q, want ping", got)
			}

			_, err = c.Missing(ctx, req)
			var tae thrift.TApplicationException
			if !errors.As(err, &tae) || tae.TypeId() != thrift.INTERNAL_ERROR {
				t.Fatalf("Missing = %v, want TApplicationException INTERNAL_ERROR", err)
			}
			if _, err := c.Echo(ctx, req); err != nil {
				t.Fatalf("Echo after exception: %v", err)
			}
		})
	}
}
