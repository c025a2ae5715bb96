package grpccodec_test

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// A test service, in the shape of generated code: package "test",
// service "Echo", with argument and result wrappers for unary methods.

type echoArgs struct{ Req *wrapperspb.StringValue }

func (a *echoArgs) Unwrap() any {
	if a.Req == nil {
		a.Req = &wrapperspb.StringValue{}
	}
	return a.Req
}

type echoResult struct{ Success *wrapperspb.StringValue }

func (r *echoResult) Unwrap() any {
	if r.Success == nil {
		r.Success = &wrapperspb.StringValue{}
	}
	return r.Success
}

type echoImpl struct{}

// echo answers by the request's value:
//
//	"meta"           echo x-echo-* metadata in header and trailer
//	"fail:C:msg"     fail with code C and msg
//	"sleep"          wait for the context to end
//	"biz"            a business error
//	"details"        an error with details
//	"metainfo"       the transient and persistent values; backward "B"
//	"panic"          panic
//	anything else    the value itself
func (echoImpl) echo(ctx context.Context, req *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	v := req.GetValue()
	switch {
	case v == "meta":
		md, _ := grpccodec.FromIncomingContext(ctx)
		out := grpccodec.MD{}
		for k, vs := range md {
			if strings.HasPrefix(k, "x-echo-") {
				out[k] = vs
			}
		}
		if err := grpccodec.SetHeader(ctx, out); err != nil {
			return nil, err
		}
		if err := grpccodec.SetTrailer(ctx, grpccodec.Pairs("x-trailer", "t", "x-trailer-bin", "\x00\xff")); err != nil {
			return nil, err
		}
		return wrapperspb.String(strings.Join(md.Get("user-agent"), ",")), nil
	case strings.HasPrefix(v, "fail:"):
		parts := strings.SplitN(v, ":", 3)
		c, _ := strconv.Atoi(parts[1])
		return nil, status.New(status.Code(c), parts[2])
	case v == "sleep":
		<-ctx.Done()
		return nil, ctx.Err()
	case v == "deadline":
		d, ok := ctx.Deadline()
		if !ok {
			return wrapperspb.String("none"), nil
		}
		return wrapperspb.String(time.Until(d).Round(time.Second).String()), nil
	case v == "biz":
		return nil, &status.BizError{Code: 1001, Message: "quota exceeded", Extra: map[string]string{"k": "v"}}
	case v == "details":
		return nil, grpccodec.WithDetails(status.New(status.InvalidArgument, "bad"), wrapperspb.String("why"))
	case v == "metainfo":
		t, _ := metainfo.GetValue(ctx, "TRACE_ID")
		p, _ := metainfo.GetPersistentValue(ctx, "TENANT")
		metainfo.SendBackwardValue(ctx, "SERVER_NODE", "n1")
		return wrapperspb.String(t + "/" + p), nil
	case v == "panic":
		panic("boom")
	}
	return wrapperspb.String(v), nil
}

func echoService() *service.Info {
	return &service.Info{
		Name:    "Echo",
		Package: "test",
		Methods: map[string]*service.MethodInfo{
			"Echo": {
				Name: "Echo",
				Handler: func(ctx context.Context, impl, args, result any) error {
					r, err := impl.(echoImpl).echo(ctx, args.(*echoArgs).Req)
					if err != nil {
						return err
					}
					result.(*echoResult).Success = r
					return nil
				},
				NewArgs:       func() any { return &echoArgs{} },
				NewResult:     func() any { return &echoResult{} },
				StreamingMode: service.StreamingUnary,
			},
			// Count answers a request "n" with n messages "0".."n-1".
			"Count": {
				Name: "Count",
				Handler: func(ctx context.Context, impl, args, result any) error {
					s := &stream.GenericServerStream[wrapperspb.StringValue, wrapperspb.StringValue]{ServerStream: args.(stream.ServerStream)}
					req, err := s.Recv()
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(req.GetValue())
					for i := range n {
						if err := s.Send(wrapperspb.String(strconv.Itoa(i))); err != nil {
							return err
						}
					}
					return nil
				},
				StreamingMode: service.StreamingServer,
			},
			// Concat joins the requests.
			"Concat": {
				Name: "Concat",
				Handler: func(ctx context.Context, impl, args, result any) error {
					s := &stream.GenericServerStream[wrapperspb.StringValue, wrapperspb.StringValue]{ServerStream: args.(stream.ServerStream)}
					var b strings.Builder
					for {
						req, err := s.Recv()
						if err == io.EOF {
							return s.SendAndClose(wrapperspb.String(b.String()))
						}
						if err != nil {
							return err
						}
						b.WriteString(req.GetValue())
					}
				},
				StreamingMode: service.StreamingClient,
			},
			// Chat echoes every request; "end" ends the call with
			// ABORTED, after trailer metadata.
			"Chat": {
				Name: "Chat",
				Handler: func(ctx context.Context, impl, args, result any) error {
					s := &stream.GenericServerStream[wrapperspb.StringValue, wrapperspb.StringValue]{ServerStream: args.(stream.ServerStream)}
					if err := s.SendHeader(stream.Header{{Name: "x-chat", Value: "hi"}}); err != nil {
						return err
					}
					for {
						req, err := s.Recv()
						if err == io.EOF {
							return nil
						}
						if err != nil {
							return err
						}
						if req.GetValue() == "end" {
							s.SetTrailer(stream.Header{{Name: "x-bye", Value: "bye"}})
							return status.New(status.Aborted, "ended")
						}
						if err := s.Send(req); err != nil {
							return err
						}
					}
				},
				StreamingMode: service.StreamingBidi,
			},
		},
	}
}

func echoDispatcher() *dispatcher { return newDispatcher().register(echoService(), echoImpl{}) }
