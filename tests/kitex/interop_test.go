package kitex_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/skiffrpc/skiff/examples/echo"
	kecho "github.com/skiffrpc/skiff/tests/kitex/kitex_gen/echo"
)

// skiffEcho is the Skiff echo service: Echo returns all fields, Fail throws
// EchoError.
type skiffEcho struct {
	echo func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error)
}

func (s skiffEcho) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	if s.echo != nil {
		return s.echo(ctx, req)
	}
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}, nil
}

func (skiffEcho) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

func (skiffEcho) Notify(context.Context, string) error { return nil }

// kitexEcho is the Kitex echo service, the same behaviour.
type kitexEcho struct {
	echo func(ctx context.Context, req *kecho.EchoRequest) (*kecho.EchoResponse, error)
}

func (k kitexEcho) Echo(ctx context.Context, req *kecho.EchoRequest) (*kecho.EchoResponse, error) {
	if k.echo != nil {
		return k.echo(ctx, req)
	}
	return &kecho.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}, nil
}

func (kitexEcho) Fail(_ context.Context, code int32) (*kecho.EchoResponse, error) {
	return nil, &kecho.EchoError{Code: code, Reason: "requested failure"}
}

func (kitexEcho) Notify(context.Context, string) error { return nil }

var (
	msg   = "hello #0 ☺"
	extra = map[string]string{"k": "v", "i": "0"}
	blob  = []byte{0x00, 0x7f, 0x80, 0xff}
)

// Kitex client → Skiff server, every transport: Echo round-trips all
// fields, Fail(7) gives the declared EchoError.
func TestKitexClientSkiffServer(t *testing.T) {
	addr := startSkiff(t, skiffEcho{})
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			cli := dialKitex(t, addr, w)
			ctx := bounded(t)
			for i := int64(0); i < 3; i++ {
				seq := i
				resp, err := cli.Echo(ctx, &kecho.EchoRequest{Message: msg, Seq: &seq, Extra: extra, Blob: blob})
				if err != nil {
					t.Fatalf("Echo: %v", err)
				}
				if resp.Message != msg || resp.GetSeq() != i || !maps.Equal(resp.Extra, extra) || !bytes.Equal(resp.Blob, blob) {
					t.Fatalf("Echo: got %+v", resp)
				}
			}
			_, err := cli.Fail(ctx, 7)
			var ee *kecho.EchoError
			if !errors.As(err, &ee) || ee.Code != 7 || ee.Reason != "requested failure" {
				t.Fatalf("Fail(7): %v", err)
			}
		})
	}
}

// Skiff client → Kitex server, every transport: the same.
func TestSkiffClientKitexServer(t *testing.T) {
	addr := startKitex(t, &kitexEcho{})
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			cli := dialSkiff(t, addr, clientTransport(w))
			ctx := bounded(t)
			for i := int64(0); i < 3; i++ {
				seq := i
				resp, err := cli.Echo(ctx, &echo.EchoRequest{Message: msg, Seq: &seq, Extra: extra, Blob: blob})
				if err != nil {
					t.Fatalf("Echo: %v", err)
				}
				if resp.Message != msg || resp.Seq == nil || *resp.Seq != i || !maps.Equal(resp.Extra, extra) || !bytes.Equal(resp.Blob, blob) {
					t.Fatalf("Echo: got %+v", resp)
				}
			}
			_, err := cli.Fail(ctx, 7)
			var ee *echo.EchoError
			if !errors.As(err, &ee) || ee.Code != 7 || ee.Reason != "requested failure" {
				t.Fatalf("Fail(7): %v", err)
			}
		})
	}
}
