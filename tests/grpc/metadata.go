package grpcinterop

import (
	"context"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/stream"
)

// echoUnaryMetadata sends back the echo keys of a unary call's request
// metadata: the initial one in the response header, the trailing one in
// the trailer.
func echoUnaryMetadata(ctx context.Context) error {
	md, _ := grpccodec.FromIncomingContext(ctx)
	if v := md.Get(EchoInitialKey); len(v) > 0 {
		if err := grpccodec.SendHeader(ctx, grpccodec.Pairs(EchoInitialKey, v[0])); err != nil {
			return err
		}
	}
	if v := md.Get(EchoTrailingKey); len(v) > 0 {
		if err := grpccodec.SetTrailer(ctx, grpccodec.Pairs(EchoTrailingKey, v[0])); err != nil {
			return err
		}
	}
	return nil
}

// echoStreamMetadata does what echoUnaryMetadata does, for a stream, with
// the stream's own header and trailer methods.
func echoStreamMetadata(s stream.ServerStream) error {
	md, _ := grpccodec.FromIncomingContext(s.Context())
	if v := md.Get(EchoInitialKey); len(v) > 0 {
		if err := s.SendHeader(stream.Header{{Name: EchoInitialKey, Value: v[0]}}); err != nil {
			return err
		}
	}
	if v := md.Get(EchoTrailingKey); len(v) > 0 {
		s.SetTrailer(stream.Header{{Name: EchoTrailingKey, Value: v[0]}})
	}
	return nil
}

// withOutgoing returns ctx carrying request metadata kv (key, value pairs).
func withOutgoing(ctx context.Context, kv ...string) context.Context {
	return grpccodec.AppendToOutgoingContext(ctx, kv...)
}

// unaryMD captures the response header and trailer of a unary call.
type unaryMD struct {
	h, t grpccodec.MD
}

// context returns ctx set to fill m.
func (m *unaryMD) context(ctx context.Context) context.Context {
	return grpccodec.WithResponseTrailer(grpccodec.WithResponseHeader(ctx, &m.h), &m.t)
}

func (m *unaryMD) header(key string) []string  { return m.h.Get(key) }
func (m *unaryMD) trailer(key string) []string { return m.t.Get(key) }

// headerValues returns the values of key in a stream's header or trailer.
func headerValues(h stream.Header, key string) []string { return grpccodec.FromHeader(h).Get(key) }
