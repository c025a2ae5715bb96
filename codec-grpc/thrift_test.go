package grpccodec_test

import (
	"context"
	"testing"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
)

// fakeThrift stands in for codec-thrift's payload codec: a struct is a
// *thriftMsg whose bytes are its encoding.
type fakeThrift struct{}

type thriftMsg struct{ b []byte }

func (fakeThrift) Name() string { return "thrift" }
func (fakeThrift) Marshal(v any) ([]byte, error) {
	m, ok := v.(*thriftMsg)
	if !ok {
		return nil, status.Errorf(status.Internal, "not a thrift struct: %T", v)
	}
	return append([]byte("T:"), m.b...), nil
}
func (fakeThrift) Unmarshal(data []byte, v any) error {
	if len(data) < 2 || string(data[:2]) != "T:" {
		return status.Protocolf("bad thrift")
	}
	v.(*thriftMsg).b = append([]byte(nil), data[2:]...)
	return nil
}

func TestThriftPayload(t *testing.T) {
	info := &service.Info{
		Name: "EchoService", Package: "echo", Codec: "thrift",
		Methods: map[string]*service.MethodInfo{"Echo": {
			Name: "Echo",
			Handler: func(ctx context.Context, impl, args, result any) error {
				result.(*thriftMsg).b = append([]byte("re:"), args.(*thriftMsg).b...)
				return nil
			},
			NewArgs:   func() any { return &thriftMsg{} },
			NewResult: func() any { return &thriftMsg{} },
		}},
	}
	conn := serve(grpccodec.Default, newDispatcher().register(info, nil))
	defer conn.Close()
	if codec.LookupPayload("thrift") == nil {
		// Without a thrift payload codec the subtype is refused.
		err := grpccodec.Default.Unary(context.Background(), conn, info, "Echo", &thriftMsg{b: []byte("x")}, &thriftMsg{})
		if status.CodeOf(err) != status.Internal {
			t.Fatalf("without a thrift codec: %v", err)
		}
		codec.RegisterPayload(fakeThrift{})
	}
	var res thriftMsg
	if err := grpccodec.Default.Unary(context.Background(), conn, info, "Echo", &thriftMsg{b: []byte("hi")}, &res); err != nil || string(res.b) != "re:hi" {
		t.Fatalf("%q %v", res.b, err)
	}
	s := conn.lastStream()
	if s.reqHeader.Get("content-type") != "application/grpc+thrift" || s.ResponseHeader().Get("content-type") != "application/grpc+thrift" {
		t.Fatalf("content types %v / %v", s.reqHeader, s.ResponseHeader())
	}
}
