package grpcinterop

import (
	"context"
	"io"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/tests/grpc/streampb"
)

// StreamService is skiff.interop.StreamService (idl/stream.proto), the
// service of the Kitex gRPC interop tests, in the shape of generated code.
// Implementations must be safe for concurrent use.
type StreamService interface {
	// Echo returns the request.
	Echo(ctx context.Context, req *streampb.EchoRequest) (*streampb.EchoResponse, error)
	// BidiEcho answers every request with its echo.
	BidiEcho(s stream.BidiStreamingServer[streampb.EchoRequest, streampb.EchoResponse]) error
	// ServerEcho answers one request with req.Seq echoes.
	ServerEcho(req *streampb.EchoRequest, s stream.ServerStreamingServer[streampb.EchoResponse]) error
}

// StreamServiceInfo returns a new descriptor of skiff.interop.StreamService
// (codec "grpc") whose handlers expect a [StreamService].
func StreamServiceInfo() *service.Info {
	return &service.Info{
		Name:        "StreamService",
		Package:     "skiff.interop",
		HandlerType: (*StreamService)(nil),
		Codec:       "grpc",
		Methods: map[string]*service.MethodInfo{
			"Echo": {
				Name: "Echo", Handler: streamEchoHandler,
				NewArgs:       func() any { return new(StreamServiceEchoArgs) },
				NewResult:     func() any { return new(StreamServiceEchoResult) },
				StreamingMode: service.StreamingUnary,
			},
			"BidiEcho": {
				Name: "BidiEcho", Handler: bidiEchoHandler,
				NewArgs: newEchoRequest, NewResult: newEchoResponse,
				StreamingMode: service.StreamingBidi,
			},
			"ServerEcho": {
				Name: "ServerEcho", Handler: serverEchoHandler,
				NewArgs: newEchoRequest, NewResult: newEchoResponse,
				StreamingMode: service.StreamingServer,
			},
		},
		Extra: map[string]any{"PackageName": "skiff.interop"},
	}
}

var (
	_ codec.Wrapper = (*StreamServiceEchoArgs)(nil)
	_ codec.Wrapper = (*StreamServiceEchoResult)(nil)
)

// StreamServiceEchoArgs wraps the request of Echo.
type StreamServiceEchoArgs struct{ Req *streampb.EchoRequest }

// Unwrap returns the request, allocating it first when nil.
func (p *StreamServiceEchoArgs) Unwrap() any {
	if p.Req == nil {
		p.Req = new(streampb.EchoRequest)
	}
	return p.Req
}

// StreamServiceEchoResult wraps the response of Echo.
type StreamServiceEchoResult struct{ Success *streampb.EchoResponse }

// Unwrap returns the response, allocating it first when nil.
func (p *StreamServiceEchoResult) Unwrap() any {
	if p.Success == nil {
		p.Success = new(streampb.EchoResponse)
	}
	return p.Success
}

func streamEchoHandler(ctx context.Context, impl, args, result any) error {
	res, err := impl.(StreamService).Echo(ctx, args.(*StreamServiceEchoArgs).Req)
	if err != nil {
		return err
	}
	result.(*StreamServiceEchoResult).Success = res
	return nil
}

// A streaming method's NewArgs and NewResult make one request and one
// response message; its handler gets the stream as args.
func newEchoRequest() any  { return new(streampb.EchoRequest) }
func newEchoResponse() any { return new(streampb.EchoResponse) }

func bidiEchoHandler(_ context.Context, impl, args, _ any) error {
	return impl.(StreamService).BidiEcho(&stream.GenericServerStream[streampb.EchoRequest, streampb.EchoResponse]{ServerStream: args.(stream.ServerStream)})
}

func serverEchoHandler(_ context.Context, impl, args, _ any) error {
	st := args.(stream.ServerStream)
	req := new(streampb.EchoRequest)
	if err := st.RecvMsg(req); err != nil {
		return err
	}
	return impl.(StreamService).ServerEcho(req, &stream.GenericServerStream[streampb.EchoRequest, streampb.EchoResponse]{ServerStream: st})
}

// StreamClient is the typed StreamService client. It is safe for
// concurrent use if its Invoker is.
type StreamClient struct{ inv Invoker }

// NewStreamClient returns a client that sends its calls through inv.
func NewStreamClient(inv Invoker) *StreamClient { return &StreamClient{inv: inv} }

// Echo calls StreamService.Echo.
func (c *StreamClient) Echo(ctx context.Context, req *streampb.EchoRequest, opts ...client.CallOption) (*streampb.EchoResponse, error) {
	args, res := StreamServiceEchoArgs{Req: req}, StreamServiceEchoResult{}
	if err := c.inv.Call(ctx, "Echo", &args, &res, opts...); err != nil {
		return nil, err
	}
	return res.Success, nil
}

// BidiEcho opens a bidirectional stream.
func (c *StreamClient) BidiEcho(ctx context.Context, opts ...client.CallOption) (stream.BidiStreamingClient[streampb.EchoRequest, streampb.EchoResponse], error) {
	st, err := c.inv.NewStream(ctx, "BidiEcho", opts...)
	if err != nil {
		return nil, err
	}
	return &stream.GenericClientStream[streampb.EchoRequest, streampb.EchoResponse]{ClientStream: st}, nil
}

// ServerEcho sends req and returns the stream of echoes.
func (c *StreamClient) ServerEcho(ctx context.Context, req *streampb.EchoRequest, opts ...client.CallOption) (stream.ServerStreamingClient[streampb.EchoResponse], error) {
	st, err := c.inv.NewStream(ctx, "ServerEcho", opts...)
	if err != nil {
		return nil, err
	}
	if err := st.SendMsg(req); err != nil {
		return nil, err
	}
	if err := st.CloseSend(); err != nil {
		return nil, err
	}
	return &stream.GenericClientStream[streampb.EchoRequest, streampb.EchoResponse]{ClientStream: st}, nil
}

// NewEchoServer returns the StreamService the interop tests serve: Echo
// returns the request, BidiEcho echoes each request, ServerEcho sends
// req.Seq echoes numbered 0 to Seq-1.
func NewEchoServer() StreamService { return echoServer{} }

type echoServer struct{}

func (echoServer) Echo(_ context.Context, req *streampb.EchoRequest) (*streampb.EchoResponse, error) {
	return &streampb.EchoResponse{Message: req.GetMessage(), Seq: req.GetSeq(), Blob: req.GetBlob()}, nil
}

func (echoServer) BidiEcho(s stream.BidiStreamingServer[streampb.EchoRequest, streampb.EchoResponse]) error {
	for {
		req, err := s.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&streampb.EchoResponse{Message: req.GetMessage(), Seq: req.GetSeq(), Blob: req.GetBlob()}); err != nil {
			return err
		}
	}
}

func (echoServer) ServerEcho(req *streampb.EchoRequest, s stream.ServerStreamingServer[streampb.EchoResponse]) error {
	for i := int64(0); i < req.GetSeq(); i++ {
		if err := s.Send(&streampb.EchoResponse{Message: req.GetMessage(), Seq: i, Blob: req.GetBlob()}); err != nil {
			return err
		}
	}
	return nil
}
