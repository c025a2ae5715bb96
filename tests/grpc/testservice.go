package grpcinterop

import (
	"context"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/stream"

	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// This file is written in the shape a Skiff generator gives a .proto
// service (grpc/testing/test.proto, service TestService and
// UnimplementedService): an interface, a service.Info with one handler per
// method, argument and result wrappers that implement codec.Wrapper, and a
// typed client. The messages are grpc-go's generated ones.

// TestService is grpc.testing.TestService. Implementations must be safe for
// concurrent use.
type TestService interface {
	// EmptyCall takes and returns an empty message.
	EmptyCall(ctx context.Context, req *testpb.Empty) (*testpb.Empty, error)
	// UnaryCall takes one request and returns one response.
	UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error)
	// CacheableUnaryCall is UnaryCall with a cacheable response.
	CacheableUnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error)
	// StreamingOutputCall takes one request and answers a stream.
	StreamingOutputCall(req *testpb.StreamingOutputCallRequest, s stream.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error
	// StreamingInputCall takes a stream of requests and answers once.
	StreamingInputCall(s stream.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error
	// FullDuplexCall answers each request as it arrives.
	FullDuplexCall(s stream.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error
	// HalfDuplexCall answers once every request has arrived.
	HalfDuplexCall(s stream.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error
	// UnimplementedCall is a method the server does not implement.
	UnimplementedCall(ctx context.Context, req *testpb.Empty) (*testpb.Empty, error)
}

// TestServiceInfo returns a new descriptor of grpc.testing.TestService for
// a Skiff server or client: codec "grpc", eight methods. The handlers
// expect an impl that implements [TestService].
func TestServiceInfo() *service.Info {
	return &service.Info{
		Name:        "TestService",
		Package:     "grpc.testing",
		HandlerType: (*TestService)(nil),
		Codec:       "grpc",
		Methods: map[string]*service.MethodInfo{
			"EmptyCall": {
				Name: "EmptyCall", Handler: emptyCallHandler,
				NewArgs: newEmptyCallArgs, NewResult: newEmptyCallResult,
				StreamingMode: service.StreamingUnary,
			},
			"UnaryCall": {
				Name: "UnaryCall", Handler: unaryCallHandler,
				NewArgs: newUnaryCallArgs, NewResult: newUnaryCallResult,
				StreamingMode: service.StreamingUnary,
			},
			"CacheableUnaryCall": {
				Name: "CacheableUnaryCall", Handler: cacheableUnaryCallHandler,
				NewArgs: newCacheableUnaryCallArgs, NewResult: newCacheableUnaryCallResult,
				StreamingMode: service.StreamingUnary,
			},
			"StreamingOutputCall": {
				Name: "StreamingOutputCall", Handler: streamingOutputCallHandler,
				NewArgs: newStreamingOutputCallRequest, NewResult: newStreamingOutputCallResponse,
				StreamingMode: service.StreamingServer,
			},
			"StreamingInputCall": {
				Name: "StreamingInputCall", Handler: streamingInputCallHandler,
				NewArgs: newStreamingInputCallRequest, NewResult: newStreamingInputCallResponse,
				StreamingMode: service.StreamingClient,
			},
			"FullDuplexCall": {
				Name: "FullDuplexCall", Handler: fullDuplexCallHandler,
				NewArgs: newStreamingOutputCallRequest, NewResult: newStreamingOutputCallResponse,
				StreamingMode: service.StreamingBidi,
			},
			"HalfDuplexCall": {
				Name: "HalfDuplexCall", Handler: halfDuplexCallHandler,
				NewArgs: newStreamingOutputCallRequest, NewResult: newStreamingOutputCallResponse,
				StreamingMode: service.StreamingBidi,
			},
			"UnimplementedCall": {
				Name: "UnimplementedCall", Handler: unimplementedCallHandler,
				NewArgs: newUnimplementedCallArgs, NewResult: newUnimplementedCallResult,
				StreamingMode: service.StreamingUnary,
			},
		},
		Extra: map[string]any{"PackageName": "grpc.testing"},
	}
}

var (
	_ codec.Wrapper = (*TestServiceEmptyCallArgs)(nil)
	_ codec.Wrapper = (*TestServiceEmptyCallResult)(nil)
	_ codec.Wrapper = (*TestServiceUnaryCallArgs)(nil)
	_ codec.Wrapper = (*TestServiceUnaryCallResult)(nil)
	_ codec.Wrapper = (*TestServiceCacheableUnaryCallArgs)(nil)
	_ codec.Wrapper = (*TestServiceCacheableUnaryCallResult)(nil)
	_ codec.Wrapper = (*TestServiceUnimplementedCallArgs)(nil)
	_ codec.Wrapper = (*TestServiceUnimplementedCallResult)(nil)
)

// TestServiceEmptyCallArgs wraps the request of EmptyCall.
type TestServiceEmptyCallArgs struct{ Req *testpb.Empty }

// Unwrap returns the request, allocating it first when nil.
func (p *TestServiceEmptyCallArgs) Unwrap() any {
	if p.Req == nil {
		p.Req = new(testpb.Empty)
	}
	return p.Req
}

// TestServiceEmptyCallResult wraps the response of EmptyCall.
type TestServiceEmptyCallResult struct{ Success *testpb.Empty }

// Unwrap returns the response, allocating it first when nil.
func (p *TestServiceEmptyCallResult) Unwrap() any {
	if p.Success == nil {
		p.Success = new(testpb.Empty)
	}
	return p.Success
}

// TestServiceUnaryCallArgs wraps the request of UnaryCall.
type TestServiceUnaryCallArgs struct{ Req *testpb.SimpleRequest }

// Unwrap returns the request, allocating it first when nil.
func (p *TestServiceUnaryCallArgs) Unwrap() any {
	if p.Req == nil {
		p.Req = new(testpb.SimpleRequest)
	}
	return p.Req
}

// TestServiceUnaryCallResult wraps the response of UnaryCall.
type TestServiceUnaryCallResult struct{ Success *testpb.SimpleResponse }

// Unwrap returns the response, allocating it first when nil.
func (p *TestServiceUnaryCallResult) Unwrap() any {
	if p.Success == nil {
		p.Success = new(testpb.SimpleResponse)
	}
	return p.Success
}

// TestServiceCacheableUnaryCallArgs wraps the request of CacheableUnaryCall.
type TestServiceCacheableUnaryCallArgs struct{ Req *testpb.SimpleRequest }

// Unwrap returns the request, allocating it first when nil.
func (p *TestServiceCacheableUnaryCallArgs) Unwrap() any {
	if p.Req == nil {
		p.Req = new(testpb.SimpleRequest)
	}
	return p.Req
}

// TestServiceCacheableUnaryCallResult wraps the response of
// CacheableUnaryCall.
type TestServiceCacheableUnaryCallResult struct{ Success *testpb.SimpleResponse }

// Unwrap returns the response, allocating it first when nil.
func (p *TestServiceCacheableUnaryCallResult) Unwrap() any {
	if p.Success == nil {
		p.Success = new(testpb.SimpleResponse)
	}
	return p.Success
}

// TestServiceUnimplementedCallArgs wraps the request of UnimplementedCall.
type TestServiceUnimplementedCallArgs struct{ Req *testpb.Empty }

// Unwrap returns the request, allocating it first when nil.
func (p *TestServiceUnimplementedCallArgs) Unwrap() any {
	if p.Req == nil {
		p.Req = new(testpb.Empty)
	}
	return p.Req
}

// TestServiceUnimplementedCallResult wraps the response of
// UnimplementedCall.
type TestServiceUnimplementedCallResult struct{ Success *testpb.Empty }

// Unwrap returns the response, allocating it first when nil.
func (p *TestServiceUnimplementedCallResult) Unwrap() any {
	if p.Success == nil {
		p.Success = new(testpb.Empty)
	}
	return p.Success
}

func newEmptyCallArgs() any                  { return new(TestServiceEmptyCallArgs) }
func newEmptyCallResult() any                { return new(TestServiceEmptyCallResult) }
func newUnaryCallArgs() any                  { return new(TestServiceUnaryCallArgs) }
func newUnaryCallResult() any                { return new(TestServiceUnaryCallResult) }
func newCacheableUnaryCallArgs() any         { return new(TestServiceCacheableUnaryCallArgs) }
func newCacheableUnaryCallResult() any       { return new(TestServiceCacheableUnaryCallResult) }
func newUnimplementedCallArgs() any          { return new(TestServiceUnimplementedCallArgs) }
func newUnimplementedCallResult() any        { return new(TestServiceUnimplementedCallResult) }
func newUnimplementedServiceCallArgs() any   { return new(TestServiceUnimplementedCallArgs) }
func newUnimplementedServiceCallResult() any { return new(TestServiceUnimplementedCallResult) }

func emptyCallHandler(ctx context.Context, impl, args, result any) error {
	res, err := impl.(TestService).EmptyCall(ctx, args.(*TestServiceEmptyCallArgs).Req)
	if err != nil {
		return err
	}
	result.(*TestServiceEmptyCallResult).Success = res
	return nil
}

func unaryCallHandler(ctx context.Context, impl, args, result any) error {
	res, err := impl.(TestService).UnaryCall(ctx, args.(*TestServiceUnaryCallArgs).Req)
	if err != nil {
		return err
	}
	result.(*TestServiceUnaryCallResult).Success = res
	return nil
}

func cacheableUnaryCallHandler(ctx context.Context, impl, args, result any) error {
	res, err := impl.(TestService).CacheableUnaryCall(ctx, args.(*TestServiceCacheableUnaryCallArgs).Req)
	if err != nil {
		return err
	}
	result.(*TestServiceCacheableUnaryCallResult).Success = res
	return nil
}

func unimplementedCallHandler(ctx context.Context, impl, args, result any) error {
	res, err := impl.(TestService).UnimplementedCall(ctx, args.(*TestServiceUnimplementedCallArgs).Req)
	if err != nil {
		return err
	}
	result.(*TestServiceUnimplementedCallResult).Success = res
	return nil
}

// A streaming method's NewArgs and NewResult make one request and one
// response message; its handler gets the stream as args (stream.Dispatcher).
func newStreamingOutputCallRequest() any  { return new(testpb.StreamingOutputCallRequest) }
func newStreamingOutputCallResponse() any { return new(testpb.StreamingOutputCallResponse) }
func newStreamingInputCallRequest() any   { return new(testpb.StreamingInputCallRequest) }
func newStreamingInputCallResponse() any  { return new(testpb.StreamingInputCallResponse) }

func streamingOutputCallHandler(_ context.Context, impl, args, _ any) error {
	st := args.(stream.ServerStream)
	req := new(testpb.StreamingOutputCallRequest)
	if err := st.RecvMsg(req); err != nil {
		return err
	}
	return impl.(TestService).StreamingOutputCall(req, &stream.GenericServerStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]{ServerStream: st})
}

func streamingInputCallHandler(_ context.Context, impl, args, _ any) error {
	st := args.(stream.ServerStream)
	return impl.(TestService).StreamingInputCall(&stream.GenericServerStream[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]{ServerStream: st})
}

func fullDuplexCallHandler(_ context.Context, impl, args, _ any) error {
	st := args.(stream.ServerStream)
	return impl.(TestService).FullDuplexCall(&stream.GenericServerStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]{ServerStream: st})
}

func halfDuplexCallHandler(_ context.Context, impl, args, _ any) error {
	st := args.(stream.ServerStream)
	return impl.(TestService).HalfDuplexCall(&stream.GenericServerStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]{ServerStream: st})
}

// UnimplementedServiceInfo returns a client descriptor of
// grpc.testing.UnimplementedService, a service no server here implements.
func UnimplementedServiceInfo() *service.Info {
	return &service.Info{
		Name:    "UnimplementedService",
		Package: "grpc.testing",
		Codec:   "grpc",
		Methods: map[string]*service.MethodInfo{
			"UnimplementedCall": {
				Name:    "UnimplementedCall",
				NewArgs: newUnimplementedServiceCallArgs, NewResult: newUnimplementedServiceCallResult,
				StreamingMode: service.StreamingUnary,
			},
		},
	}
}

// Invoker sends calls and opens streams; a *client.Client satisfies it.
type Invoker interface {
	// Call sends one unary call.
	Call(ctx context.Context, method string, args, result any, opts ...client.CallOption) error
	// NewStream opens a message stream for a streaming method.
	NewStream(ctx context.Context, method string, opts ...client.CallOption) (stream.ClientStream, error)
}

// Client is the typed TestService client (and, built on an UnimplementedService
// Invoker, the UnimplementedService client). It is safe for concurrent use if
// its Invoker is.
type Client struct{ inv Invoker }

// NewClient returns a client that sends its calls through inv.
func NewClient(inv Invoker) *Client { return &Client{inv: inv} }

// EmptyCall calls TestService.EmptyCall.
func (c *Client) EmptyCall(ctx context.Context, req *testpb.Empty, opts ...client.CallOption) (*testpb.Empty, error) {
	args, res := TestServiceEmptyCallArgs{Req: req}, TestServiceEmptyCallResult{}
	if err := c.inv.Call(ctx, "EmptyCall", &args, &res, opts...); err != nil {
		return nil, err
	}
	return res.Success, nil
}

// UnaryCall calls TestService.UnaryCall.
func (c *Client) UnaryCall(ctx context.Context, req *testpb.SimpleRequest, opts ...client.CallOption) (*testpb.SimpleResponse, error) {
	args, res := TestServiceUnaryCallArgs{Req: req}, TestServiceUnaryCallResult{}
	if err := c.inv.Call(ctx, "UnaryCall", &args, &res, opts...); err != nil {
		return nil, err
	}
	return res.Success, nil
}

// CacheableUnaryCall calls TestService.CacheableUnaryCall.
func (c *Client) CacheableUnaryCall(ctx context.Context, req *testpb.SimpleRequest, opts ...client.CallOption) (*testpb.SimpleResponse, error) {
	args, res := TestServiceCacheableUnaryCallArgs{Req: req}, TestServiceCacheableUnaryCallResult{}
	if err := c.inv.Call(ctx, "CacheableUnaryCall", &args, &res, opts...); err != nil {
		return nil, err
	}
	return res.Success, nil
}

// UnimplementedCall calls UnimplementedCall (of TestService or of
// UnimplementedService, whichever the Invoker was built for).
func (c *Client) UnimplementedCall(ctx context.Context, req *testpb.Empty, opts ...client.CallOption) (*testpb.Empty, error) {
	args, res := TestServiceUnimplementedCallArgs{Req: req}, TestServiceUnimplementedCallResult{}
	if err := c.inv.Call(ctx, "UnimplementedCall", &args, &res, opts...); err != nil {
		return nil, err
	}
	return res.Success, nil
}

// StreamingOutputCall sends req and returns the stream of responses.
func (c *Client) StreamingOutputCall(ctx context.Context, req *testpb.StreamingOutputCallRequest, opts ...client.CallOption) (stream.ServerStreamingClient[testpb.StreamingOutputCallResponse], error) {
	st, err := c.inv.NewStream(ctx, "StreamingOutputCall", opts...)
	if err != nil {
		return nil, err
	}
	if err := st.SendMsg(req); err != nil {
		return nil, err
	}
	if err := st.CloseSend(); err != nil {
		return nil, err
	}
	return &stream.GenericClientStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]{ClientStream: st}, nil
}

// StreamingInputCall opens a client stream.
func (c *Client) StreamingInputCall(ctx context.Context, opts ...client.CallOption) (stream.ClientStreamingClient[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse], error) {
	st, err := c.inv.NewStream(ctx, "StreamingInputCall", opts...)
	if err != nil {
		return nil, err
	}
	return &stream.GenericClientStream[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]{ClientStream: st}, nil
}

// FullDuplexCall opens a bidirectional stream.
func (c *Client) FullDuplexCall(ctx context.Context, opts ...client.CallOption) (stream.BidiStreamingClient[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse], error) {
	st, err := c.inv.NewStream(ctx, "FullDuplexCall", opts...)
	if err != nil {
		return nil, err
	}
	return &stream.GenericClientStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]{ClientStream: st}, nil
}

// HalfDuplexCall opens a bidirectional stream that the server answers once
// the requests end.
func (c *Client) HalfDuplexCall(ctx context.Context, opts ...client.CallOption) (stream.BidiStreamingClient[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse], error) {
	st, err := c.inv.NewStream(ctx, "HalfDuplexCall", opts...)
	if err != nil {
		return nil, err
	}
	return &stream.GenericClientStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]{ClientStream: st}, nil
}
