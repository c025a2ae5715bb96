package grpccodec_test

import (
	"bytes"
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
)

// rawService has one unary method whose arguments and result are raw
// messages, as a server's unknown-method fallback gives them.
func rawService() *service.Info {
	return &service.Info{
		Name:    "Raw",
		Package: "test",
		Methods: map[string]*service.MethodInfo{
			"Forward": {
				Name: "Forward",
				Handler: func(_ context.Context, _, args, result any) error {
					*result.(*codec.Raw) = append(codec.Raw(nil), *args.(*codec.Raw)...)
					return nil
				},
				NewArgs:   func() any { return new(codec.Raw) },
				NewResult: func() any { return new(codec.Raw) },
			},
		},
	}
}

// A raw message is sent verbatim and a raw reply comes back as the bytes
// of the response message, against a typed server and a raw one.
func TestRawMessages(t *testing.T) {
	if !codec.CarriesRaw(grpccodec.Default) {
		t.Fatal("the codec does not say it carries raw messages")
	}
	ctx := context.Background()
	req, err := proto.Marshal(wrapperspb.String("raw hello"))
	if err != nil {
		t.Fatal(err)
	}

	conn := serve(grpccodec.Default, echoDispatcher())
	defer conn.Close()
	var out codec.Raw
	if err := grpccodec.Default.Unary(ctx, conn, echoService(), "Echo", codec.Raw(req), &out); err != nil {
		t.Fatal(err)
	}
	var got wrapperspb.StringValue
	if err := proto.Unmarshal(out, &got); err != nil || got.GetValue() != "raw hello" {
		t.Fatalf("typed server's reply %x: %v %v", out, got.GetValue(), err)
	}

	rawConn := serve(grpccodec.Default, newDispatcher().register(rawService(), echoImpl{}))
	defer rawConn.Close()
	out = nil
	if err := grpccodec.Default.Unary(ctx, rawConn, rawService(), "Forward", codec.Raw(req), &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, req) {
		t.Fatalf("raw server's reply %x, want %x", out, req)
	}
	// A message that is not protobuf is refused by the server's decoder.
	err = grpccodec.Default.Unary(ctx, rawConn, rawService(), "Forward", codec.Raw{0x0a, 0x10, 'x'}, &out)
	wantCode(t, err, status.Internal, "")
}
