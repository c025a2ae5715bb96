package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
)

// Echoer is the interface of a service descriptor's HandlerType.
type Echoer interface {
	Echo(ctx context.Context, in []byte) ([]byte, error)
}

type echoer struct{}

func (echoer) Echo(_ context.Context, in []byte) ([]byte, error) { return in, nil }

// typedService is the toy service with a HandlerType, its handlers calling
// an Echoer.
func typedService(handlerType any) *service.Info {
	info := toycodec.Service()
	info.HandlerType = handlerType
	call := func(ctx context.Context, impl any, args, result any) error {
		out, err := impl.(Echoer).Echo(ctx, args.(*toycodec.Bytes).B)
		if err == nil && result != nil {
			result.(*toycodec.Bytes).B = out
		}
		return err
	}
	for _, mi := range info.Methods {
		mi.Handler = call
	}
	return info
}

// RegisterService checks the implementation against info.HandlerType, as
// its documentation says, instead of failing on the first call.
func TestRegisterServiceChecksHandlerType(t *testing.T) {
	svr := server.New(server.WithLogger(quiet))
	err := svr.RegisterService(typedService((*Echoer)(nil)), toycodec.Handler(echo))
	if err == nil {
		t.Fatal("RegisterService accepted an implementation that does not implement HandlerType")
	}
	if msg := err.Error(); !strings.Contains(msg, "toycodec.Handler") || !strings.Contains(msg, "server_test.Echoer") {
		t.Errorf("error %q does not name the implementation and the interface", msg)
	}
	// A nil pointer of a concrete type asks for an implementation of that
	// type (codec-grpc's health service uses (*health.Server)(nil)).
	if err := svr.RegisterService(typedService((*echoer)(nil)), echoer{}); err == nil || !strings.Contains(err.Error(), "*server_test.echoer") {
		t.Errorf("RegisterService with HandlerType (*echoer)(nil) and an echoer: %v", err)
	}
	other := typedService((*echoer)(nil))
	other.Name = "Other"
	if err := svr.RegisterService(other, &echoer{}); err != nil {
		t.Errorf("RegisterService with HandlerType (*echoer)(nil) and an *echoer: %v", err)
	}
	if err := svr.RegisterService(typedService((*Echoer)(nil)), echoer{}); err != nil {
		t.Fatalf("RegisterService with a matching implementation: %v", err)
	}
	// The failed registrations left nothing behind; the good one counted.
	if err := svr.RegisterService(typedService((*Echoer)(nil)), echoer{}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second registration: %v", err)
	}
}

// A registered implementation of HandlerType serves calls.
func TestRegisterServiceHandlerTypeServes(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	if err := svr.RegisterService(typedService((*Echoer)(nil)), &echoer{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	cli := newClient(t, svr.Addr().String())
	var out toycodec.Bytes
	if err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("hi")}, &out); err != nil {
		t.Fatal(err)
	}
	if string(out.B) != "hi" {
		t.Fatalf("echo = %q", out.B)
	}
}
