package grpcinterop

import (
	"context"
	"io"
	"time"

	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"

	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// The metadata keys the interop cases ask a server to echo: the initial
// one back as response header metadata, the binary one as trailer metadata.
const (
	EchoInitialKey  = "x-grpc-test-echo-initial"
	EchoTrailingKey = "x-grpc-test-echo-trailing-bin"
)

// NewTestServer returns a TestService that behaves as the interop spec
// (and grpc-go's interop server) asks: response payloads of the requested
// size, the requested status echoed, the custom metadata echoed, optional
// sleeps between streamed responses, and Unimplemented for
// UnimplementedCall.
func NewTestServer() TestService { return testServer{} }

type testServer struct{}

var _ TestService = testServer{}

// newPayload returns a COMPRESSABLE payload of size zero bytes.
func newPayload(t testpb.PayloadType, size int32) (*testpb.Payload, error) {
	if size < 0 {
		return nil, status.Errorf(status.InvalidArgument, "requested a response with invalid length %d", size)
	}
	if t != testpb.PayloadType_COMPRESSABLE {
		return nil, status.Errorf(status.InvalidArgument, "unsupported payload type: %d", t)
	}
	return &testpb.Payload{Type: t, Body: make([]byte, size)}, nil
}

// echoStatus returns the error a request's EchoStatus asks for, or nil.
func echoStatus(st *testpb.EchoStatus) error {
	if st == nil || st.GetCode() == 0 {
		return nil
	}
	return status.New(status.Code(st.GetCode()), st.GetMessage())
}

func (testServer) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return new(testpb.Empty), nil
}

func (s testServer) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if err := echoUnaryMetadata(ctx); err != nil {
		return nil, err
	}
	if err := echoStatus(req.GetResponseStatus()); err != nil {
		return nil, err
	}
	pl, err := newPayload(req.GetResponseType(), req.GetResponseSize())
	if err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{Payload: pl}, nil
}

func (s testServer) CacheableUnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return s.UnaryCall(ctx, req)
}

func (testServer) UnimplementedCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return nil, status.New(status.Unimplemented, "method UnimplementedCall not implemented")
}

// sendAll sends one response per parameter, sleeping IntervalUs first.
func sendAll(ctx context.Context, send func(*testpb.StreamingOutputCallResponse) error, t testpb.PayloadType, params []*testpb.ResponseParameters) error {
	for _, p := range params {
		if us := p.GetIntervalUs(); us > 0 {
			timer := time.NewTimer(time.Duration(us) * time.Microsecond)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return status.Convert(ctx.Err())
			}
		}
		pl, err := newPayload(t, p.GetSize())
		if err != nil {
			return err
		}
		if err := send(&testpb.StreamingOutputCallResponse{Payload: pl}); err != nil {
			return err
		}
	}
	return nil
}

func (testServer) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, s stream.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	if err := echoStatus(req.GetResponseStatus()); err != nil {
		return err
	}
	return sendAll(s.Context(), s.Send, req.GetResponseType(), req.GetResponseParameters())
}

func (testServer) StreamingInputCall(s stream.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	var sum int
	for {
		req, err := s.Recv()
		if err == io.EOF {
			return s.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(sum)})
		}
		if err != nil {
			return err
		}
		sum += len(req.GetPayload().GetBody())
	}
}

func (testServer) FullDuplexCall(s stream.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if err := echoStreamMetadata(s); err != nil {
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
		if err := echoStatus(req.GetResponseStatus()); err != nil {
			return err
		}
		if err := sendAll(s.Context(), s.Send, req.GetResponseType(), req.GetResponseParameters()); err != nil {
			return err
		}
	}
}

func (testServer) HalfDuplexCall(s stream.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	var reqs []*testpb.StreamingOutputCallRequest
	for {
		req, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	for _, req := range reqs {
		if err := sendAll(s.Context(), s.Send, req.GetResponseType(), req.GetResponseParameters()); err != nil {
			return err
		}
	}
	return nil
}
