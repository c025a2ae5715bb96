package stream

import (
	"context"
	"errors"
	"io"

	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
)

// Args is the request value client middleware sees for a streaming call
// (client.NewStream); the response value is a *[Result].
type Args struct {
	// Method describes the streaming method, or is nil when the client's
	// service does not know it.
	Method *service.MethodInfo
}

// Result receives the stream a streaming call opened. Client middleware
// may replace Stream with a wrapper after calling next, to see each
// message sent and received, as grpc-go's stream interceptors do.
type Result struct {
	Stream ClientStream
}

// ServerStream is a message stream as a streaming handler sees it. RecvMsg
// is used by one goroutine, SendMsg by one goroutine.
type ServerStream interface {
	// Context is the call's context; it is done when the client cancels.
	Context() context.Context
	// SendMsg sends one response message.
	SendMsg(m any) error
	// RecvMsg receives one request message into m; io.EOF once the client
	// has closed its side.
	RecvMsg(m any) error
	// SetHeader adds fields to the response header, sent with the first
	// message or by SendHeader.
	SetHeader(h Header) error
	// SendHeader sends the response header now, with h added.
	SendHeader(h Header) error
	// SetTrailer adds fields to the trailer sent when the handler returns.
	SetTrailer(h Header)
}

// ClientStream is a message stream as a client sees it. RecvMsg is used by
// one goroutine, SendMsg and CloseSend by one goroutine.
type ClientStream interface {
	// Context is the context the stream was opened with.
	Context() context.Context
	// SendMsg sends one request message.
	SendMsg(m any) error
	// RecvMsg receives one response message into m; io.EOF when the server
	// ended the stream with success, otherwise a *status.Error.
	RecvMsg(m any) error
	// CloseSend ends the request side.
	CloseSend() error
	// Header waits for the response header.
	Header() (Header, error)
	// Trailer returns the response trailer; valid after RecvMsg returned
	// an error.
	Trailer() Header
}

// ServerStreamingServer is the server side of a method with one request and
// a stream of responses.
type ServerStreamingServer[Res any] interface {
	// Send sends one response.
	Send(*Res) error
	ServerStream
}

// ClientStreamingServer is the server side of a method with a stream of
// requests and one response.
type ClientStreamingServer[Req, Res any] interface {
	// Recv receives the next request; io.EOF after the last.
	Recv() (*Req, error)
	// SendAndClose sends the response; the handler then returns nil.
	SendAndClose(*Res) error
	ServerStream
}

// BidiStreamingServer is the server side of a bidirectional stream.
type BidiStreamingServer[Req, Res any] interface {
	// Recv receives the next request; io.EOF after the last.
	Recv() (*Req, error)
	// Send sends one response.
	Send(*Res) error
	ServerStream
}

// ServerStreamingClient is the client side of a method with one request
// and a stream of responses.
type ServerStreamingClient[Res any] interface {
	// Recv receives the next response; io.EOF after the last.
	Recv() (*Res, error)
	ClientStream
}

// ClientStreamingClient is the client side of a method with a stream of
// requests and one response.
type ClientStreamingClient[Req, Res any] interface {
	// Send sends one request.
	Send(*Req) error
	// CloseAndRecv ends the requests and waits for the response.
	CloseAndRecv() (*Res, error)
	ClientStream
}

// BidiStreamingClient is the client side of a bidirectional stream.
type BidiStreamingClient[Req, Res any] interface {
	// Send sends one request.
	Send(*Req) error
	// Recv receives the next response; io.EOF after the last.
	Recv() (*Res, error)
	ClientStream
}

// GenericServerStream gives a [ServerStream] the typed methods of every
// server-side streaming interface. Generated code wraps the handler's
// stream in it.
type GenericServerStream[Req, Res any] struct {
	ServerStream
}

var (
	_ ServerStreamingServer[int]      = (*GenericServerStream[int, int])(nil)
	_ ClientStreamingServer[int, int] = (*GenericServerStream[int, int])(nil)
	_ BidiStreamingServer[int, int]   = (*GenericServerStream[int, int])(nil)
)

// Send sends one response.
func (s *GenericServerStream[Req, Res]) Send(m *Res) error { return s.ServerStream.SendMsg(m) }

// SendAndClose sends the response of a client-streaming method.
func (s *GenericServerStream[Req, Res]) SendAndClose(m *Res) error {
	return s.ServerStream.SendMsg(m)
}

// Recv receives the next request; io.EOF after the last.
func (s *GenericServerStream[Req, Res]) Recv() (*Req, error) {
	m := new(Req)
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

// GenericClientStream gives a [ClientStream] the typed methods of every
// client-side streaming interface. Generated code wraps the stream it opens
// in it.
type GenericClientStream[Req, Res any] struct {
	ClientStream
}

var (
	_ ServerStreamingClient[int]      = (*GenericClientStream[int, int])(nil)
	_ ClientStreamingClient[int, int] = (*GenericClientStream[int, int])(nil)
	_ BidiStreamingClient[int, int]   = (*GenericClientStream[int, int])(nil)
)

// Send sends one request.
func (s *GenericClientStream[Req, Res]) Send(m *Req) error { return s.ClientStream.SendMsg(m) }

// Recv receives the next response; io.EOF after the last.
func (s *GenericClientStream[Req, Res]) Recv() (*Res, error) {
	m := new(Res)
	if err := s.ClientStream.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

// CloseAndRecv ends the requests and waits for the one response.
func (s *GenericClientStream[Req, Res]) CloseAndRecv() (*Res, error) {
	if err := s.ClientStream.CloseSend(); err != nil {
		return nil, err
	}
	m, err := s.Recv()
	if err != nil {
		return nil, err
	}
	// Read the end of the call: its status (and trailer) decide.
	var extra Res
	switch err := s.ClientStream.RecvMsg(&extra); {
	case errors.Is(err, io.EOF):
		return m, nil
	case err != nil:
		return nil, err
	}
	return nil, status.New(status.Internal, "stream: server sent more than one response to a client-streaming call")
}
