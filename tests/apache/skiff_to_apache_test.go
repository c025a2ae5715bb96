package apache_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
)

// TestSkiffClientApacheServer: a Skiff client, over Framed and over
// Buffered, calls an Apache Thrift TSimpleServer (strict Binary protocol,
// generated processor).
func TestSkiffClientApacheServer(t *testing.T) {
	for _, tr := range skiffTransports {
		t.Run(tr.name, func(t *testing.T) {
			h := newApacheHandler()
			addr := startApacheServer(t, tr.apache, h)
			cli := newSkiffClient(t, addr, tr.proto)
			stub := echo.NewClient(cli)
			ctx := context.Background()

			t.Run("Echo", func(t *testing.T) {
				seq := int64(1<<40 + 7)
				req := &echo.EchoRequest{
					Message: "héllo, 世界 ✓",
					Seq:     &seq,
					Extra:   map[string]string{"k1": "v1", "ключ": "значение", "": "empty key"},
					Blob:    []byte{0x00, 0x7f, 0x80, 0xff},
				}
				resp, err := stub.Echo(ctx, req)
				if err != nil {
					t.Fatalf("Echo: %v", err)
				}
				want := &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}
				if !reflect.DeepEqual(resp, want) {
					t.Fatalf("Echo = %+v, want %+v", resp, want)
				}
			})

			t.Run("Fail", func(t *testing.T) {
				resp, err := stub.Fail(ctx, 7)
				var ee *echo.EchoError
				if !errors.As(err, &ee) {
					t.Fatalf("Fail(7) = %v, %v (%T), want *echo.EchoError", resp, err, err)
				}
				if ee.Code != 7 || ee.Reason != "failed on purpose" {
					t.Fatalf("Fail(7) = %+v, want code 7, reason %q", ee, "failed on purpose")
				}
			})

			t.Run("Notify", func(t *testing.T) {
				if err := stub.Notify(ctx, "oneway ✓"); err != nil {
					t.Fatalf("Notify: %v", err)
				}
				if got := waitNotified(t, h.notified); got != "oneway ✓" {
					t.Fatalf("Apache handler saw %q, want %q", got, "oneway ✓")
				}
				resp, err := stub.Echo(ctx, &echo.EchoRequest{Message: "after notify"})
				if err != nil || resp.Message != "after notify" {
					t.Fatalf("Echo after Notify = %+v, %v", resp, err)
				}
			})

			t.Run("UnknownMethod", func(t *testing.T) {
				err := cli.Call(ctx, "Nope",
					&echo.EchoServiceEchoArgs{Req: &echo.EchoRequest{Message: "nope"}},
					&echo.EchoServiceEchoResult{})
				if err == nil {
					t.Fatal("Call(Nope) succeeded, want an unknown-method error")
				}
				if !errors.Is(err, status.ErrRemote) {
					t.Fatalf("Call(Nope) = %v (%T), want errors.Is(err, status.ErrRemote)", err, err)
				}
				if c := status.CodeOf(err); c != status.Unimplemented {
					t.Fatalf("Call(Nope): code %v, want %v (err %v)", c, status.Unimplemented, err)
				}
				resp, err := stub.Echo(ctx, &echo.EchoRequest{Message: "after nope"})
				if err != nil || resp.Message != "after nope" {
					t.Fatalf("Echo after Nope = %+v, %v", resp, err)
				}
			})
		})
	}
}
