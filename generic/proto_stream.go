package generic

import (
	"context"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// ClientStream is a protobuf JSON generic stream (gRPC client, server or
// bidi streaming) as a client sees it: messages are protojson text. Send
// and CloseSend are used by one goroutine, Recv by one goroutine.
type ClientStream struct {
	st   stream.ClientStream
	md   protoreflect.MethodDescriptor
	opts *protoJSONOptions
}

// NewStream opens a stream of the streaming method (ProtobufJSON clients
// over gRPC only). For a server-streaming method, Send the one request,
// then CloseSend, then Recv until io.EOF.
func (c *Client) NewStream(ctx context.Context, method string, opts ...client.CallOption) (*ClientStream, error) {
	if c.g.pjson == nil {
		return nil, status.Errorf(status.InvalidArgument, "generic: streams need a ProtobufJSON client")
	}
	md, err := c.g.protoMethod(c.name, method)
	if err != nil {
		return nil, err
	}
	st, err := c.cli.NewStream(ctx, method, opts...)
	if err != nil {
		return nil, err
	}
	return &ClientStream{st: st, md: md, opts: c.g.pjson}, nil
}

// Context is the context the stream was opened with.
func (s *ClientStream) Context() context.Context { return s.st.Context() }

// Send sends one request message given as protojson text (string or
// []byte). A message that does not fit fails with an *Error and is not
// sent.
func (s *ClientStream) Send(req any) error {
	b, err := s.opts.jsonToMessage(s.md.Input(), req)
	if err != nil {
		return err
	}
	return s.st.SendMsg(codec.Raw(b))
}

// Recv receives one response message as protojson text; io.EOF once the
// server ended the stream with success, otherwise a status error.
func (s *ClientStream) Recv() (string, error) {
	var out codec.Raw
	if err := s.st.RecvMsg(&out); err != nil {
		return "", err
	}
	return s.opts.messageToJSON(s.md.Output(), out)
}

// CloseSend ends the request side.
func (s *ClientStream) CloseSend() error { return s.st.CloseSend() }

// ServerStream is a protobuf JSON generic stream as a StreamHandler sees
// it: messages are protojson text. Recv is used by one goroutine, Send by
// one goroutine.
type ServerStream struct {
	st   stream.ServerStream
	md   protoreflect.MethodDescriptor
	opts *protoJSONOptions
}

// Context is the call's context.
func (s *ServerStream) Context() context.Context { return s.st.Context() }

// Recv receives one request message as protojson text; io.EOF once the
// client has closed its side.
func (s *ServerStream) Recv() (string, error) {
	var in codec.Raw
	if err := s.st.RecvMsg(&in); err != nil {
		return "", err
	}
	return s.opts.messageToJSON(s.md.Input(), in)
}

// Send sends one response message given as protojson text (string or
// []byte).
func (s *ServerStream) Send(resp any) error {
	b, err := s.opts.jsonToMessage(s.md.Output(), resp)
	if err != nil {
		return err
	}
	return s.st.SendMsg(codec.Raw(b))
}

// StreamHandler serves the streaming methods of a protobuf JSON generic
// service. It returns when the call is over; its error (a status error
// keeps its code) ends the stream.
type StreamHandler func(method string, s *ServerStream) error

// ServiceOption configures a generic service (NewServiceInfo).
type ServiceOption func(*handlerImpl)

// WithStreamHandler serves the service's streaming methods (protobuf
// JSON over gRPC) with sh. Without it they answer UNIMPLEMENTED.
func WithStreamHandler(sh StreamHandler) ServiceOption {
	return func(h *handlerImpl) { h.streams = sh }
}

func protoStreamHandler(g *Generic, md protoreflect.MethodDescriptor) service.Handler {
	name := string(md.Name())
	return func(_ context.Context, impl, args, _ any) error {
		sh := impl.(*handlerImpl).streams
		if sh == nil {
			return status.Errorf(status.Unimplemented, "generic: no stream handler for %s", name)
		}
		return sh(name, &ServerStream{st: args.(stream.ServerStream), md: md, opts: g.pjson})
	}
}
