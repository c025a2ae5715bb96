package grpcinterop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/skiffrpc/skiff/core/status"

	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// The sizes the interop spec uses.
var (
	reqSizes      = []int{27182, 8, 1828, 45904}
	respSizes     = []int{31415, 9, 2653, 58979}
	largeReqSize  = 271828
	largeRespSize = 314159
)

// The values custom_metadata sends.
const (
	echoInitialValue  = "test_initial_metadata_value"
	echoTrailingValue = "\x0a\x0b\x0a\x0b\x0a\x0b"
)

// Case is one interop client case.
type Case struct {
	// Name is the case's name in the interop spec, such as "large_unary".
	Name string
	// Run runs the case: tc calls TestService, unimpl calls
	// UnimplementedService. It returns nil when the server answered as
	// the spec requires.
	Run func(ctx context.Context, tc, unimpl *Client) error
}

// Cases returns the 14 core interop cases for a Skiff client, in the
// order the spec lists them.
func Cases() []Case {
	return []Case{
		{"empty_unary", emptyUnary},
		{"large_unary", largeUnary},
		{"client_streaming", clientStreaming},
		{"server_streaming", serverStreaming},
		{"ping_pong", pingPong},
		{"empty_stream", emptyStream},
		{"timeout_on_sleeping_server", timeoutOnSleepingServer},
		{"cancel_after_begin", cancelAfterBegin},
		{"cancel_after_first_response", cancelAfterFirstResponse},
		{"status_code_and_message", statusCodeAndMessage},
		{"special_status_message", specialStatusMessage},
		{"custom_metadata", customMetadata},
		{"unimplemented_method", unimplementedMethod},
		{"unimplemented_service", unimplementedService},
	}
}

func payload(size int) *testpb.Payload {
	return &testpb.Payload{Type: testpb.PayloadType_COMPRESSABLE, Body: make([]byte, size)}
}

// checkPayload checks a response payload's type and size.
func checkPayload(p *testpb.Payload, size int) error {
	if p.GetType() != testpb.PayloadType_COMPRESSABLE || len(p.GetBody()) != size {
		return fmt.Errorf("payload type %v len %d, want COMPRESSABLE len %d", p.GetType(), len(p.GetBody()), size)
	}
	return nil
}

// wantCode checks that err is a status error with code.
func wantCode(err error, code status.Code) error {
	if err == nil {
		return fmt.Errorf("got no error, want code %v", code)
	}
	if c := status.CodeOf(err); c != code {
		return fmt.Errorf("got %v (code %v), want code %v", err, c, code)
	}
	return nil
}

// wantStatus checks that err carries exactly code and msg.
func wantStatus(err error, code status.Code, msg string) error {
	if err := wantCode(err, code); err != nil {
		return err
	}
	if m := status.Convert(err).Message(); m != msg {
		return fmt.Errorf("got message %q, want %q", m, msg)
	}
	return nil
}

func emptyUnary(ctx context.Context, tc, _ *Client) error {
	res, err := tc.EmptyCall(ctx, &testpb.Empty{})
	if err != nil {
		return err
	}
	if res == nil {
		return errors.New("nil response")
	}
	return nil
}

func largeUnary(ctx context.Context, tc, _ *Client) error {
	res, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{
		ResponseType: testpb.PayloadType_COMPRESSABLE,
		ResponseSize: int32(largeRespSize),
		Payload:      payload(largeReqSize),
	})
	if err != nil {
		return err
	}
	return checkPayload(res.GetPayload(), largeRespSize)
}

func clientStreaming(ctx context.Context, tc, _ *Client) error {
	s, err := tc.StreamingInputCall(ctx)
	if err != nil {
		return err
	}
	sum := 0
	for _, n := range reqSizes {
		if err := s.Send(&testpb.StreamingInputCallRequest{Payload: payload(n)}); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		sum += n
	}
	res, err := s.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("close and recv: %w", err)
	}
	if got := res.GetAggregatedPayloadSize(); got != int32(sum) {
		return fmt.Errorf("aggregated size %d, want %d", got, sum)
	}
	return nil
}

func serverStreaming(ctx context.Context, tc, _ *Client) error {
	params := make([]*testpb.ResponseParameters, len(respSizes))
	for i, n := range respSizes {
		params[i] = &testpb.ResponseParameters{Size: int32(n)}
	}
	s, err := tc.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
		ResponseType:       testpb.PayloadType_COMPRESSABLE,
		ResponseParameters: params,
	})
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		res, err := s.Recv()
		if err == io.EOF {
			if i != len(respSizes) {
				return fmt.Errorf("got %d responses, want %d", i, len(respSizes))
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("recv %d: %w", i, err)
		}
		if i >= len(respSizes) {
			return fmt.Errorf("more than %d responses", len(respSizes))
		}
		if err := checkPayload(res.GetPayload(), respSizes[i]); err != nil {
			return fmt.Errorf("response %d: %w", i, err)
		}
	}
}

func pingPong(ctx context.Context, tc, _ *Client) error {
	s, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	for i := range reqSizes {
		err := s.Send(&testpb.StreamingOutputCallRequest{
			ResponseType:       testpb.PayloadType_COMPRESSABLE,
			ResponseParameters: []*testpb.ResponseParameters{{Size: int32(respSizes[i])}},
			Payload:            payload(reqSizes[i]),
		})
		if err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		res, err := s.Recv()
		if err != nil {
			return fmt.Errorf("recv %d: %w", i, err)
		}
		if err := checkPayload(res.GetPayload(), respSizes[i]); err != nil {
			return fmt.Errorf("response %d: %w", i, err)
		}
	}
	if err := s.CloseSend(); err != nil {
		return fmt.Errorf("close send: %w", err)
	}
	if _, err := s.Recv(); err != io.EOF {
		return fmt.Errorf("last recv: %v, want io.EOF", err)
	}
	return nil
}

func emptyStream(ctx context.Context, tc, _ *Client) error {
	s, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return fmt.Errorf("close send: %w", err)
	}
	if _, err := s.Recv(); err != io.EOF {
		return fmt.Errorf("recv: %v, want io.EOF", err)
	}
	return nil
}

func timeoutOnSleepingServer(ctx context.Context, tc, _ *Client) error {
	ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	s, err := tc.FullDuplexCall(ctx)
	if err != nil {
		// The deadline may pass before the stream is open.
		return wantCode(err, status.DeadlineExceeded)
	}
	err = s.Send(&testpb.StreamingOutputCallRequest{
		ResponseType: testpb.PayloadType_COMPRESSABLE,
		Payload:      payload(27182),
	})
	if err != nil && err != io.EOF && status.CodeOf(err) != status.DeadlineExceeded {
		return fmt.Errorf("send: %w", err)
	}
	_, err = s.Recv()
	return wantCode(err, status.DeadlineExceeded)
}

func cancelAfterBegin(ctx context.Context, tc, _ *Client) error {
	ctx, cancel := context.WithCancel(withOutgoing(ctx, "key1", "value1", "key2", "value2"))
	defer cancel()
	s, err := tc.StreamingInputCall(ctx)
	if err != nil {
		return err
	}
	cancel()
	_, err = s.CloseAndRecv()
	return wantCode(err, status.Canceled)
}

func cancelAfterFirstResponse(ctx context.Context, tc, _ *Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	err = s.Send(&testpb.StreamingOutputCallRequest{
		ResponseType:       testpb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*testpb.ResponseParameters{{Size: 31415}},
		Payload:            payload(27182),
	})
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if _, err := s.Recv(); err != nil {
		return fmt.Errorf("first recv: %w", err)
	}
	cancel()
	_, err = s.Recv()
	return wantCode(err, status.Canceled)
}

func statusCodeAndMessage(ctx context.Context, tc, _ *Client) error {
	const msg = "test status message"
	echo := &testpb.EchoStatus{Code: 2, Message: msg}
	_, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: echo})
	if err := wantStatus(err, status.Unknown, msg); err != nil {
		return fmt.Errorf("unary: %w", err)
	}
	s, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	if err := s.Send(&testpb.StreamingOutputCallRequest{ResponseStatus: echo}); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if err := s.CloseSend(); err != nil {
		return fmt.Errorf("close send: %w", err)
	}
	_, err = s.Recv()
	if err := wantStatus(err, status.Unknown, msg); err != nil {
		return fmt.Errorf("full duplex: %w", err)
	}
	return nil
}

func specialStatusMessage(ctx context.Context, tc, _ *Client) error {
	const msg = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: 2, Message: msg}})
	return wantStatus(err, status.Unknown, msg)
}

// checkEcho checks the echoed custom metadata.
func checkEcho(initial, trailing []string) error {
	if len(initial) != 1 || initial[0] != echoInitialValue {
		return fmt.Errorf("header %s = %q, want [%q]", EchoInitialKey, initial, echoInitialValue)
	}
	if len(trailing) != 1 || trailing[0] != echoTrailingValue {
		return fmt.Errorf("trailer %s = %q, want [%q]", EchoTrailingKey, trailing, echoTrailingValue)
	}
	return nil
}

func customMetadata(ctx context.Context, tc, _ *Client) error {
	ctx = withOutgoing(ctx, EchoInitialKey, echoInitialValue, EchoTrailingKey, echoTrailingValue)
	md := new(unaryMD)
	res, err := tc.UnaryCall(md.context(ctx), &testpb.SimpleRequest{
		ResponseType: testpb.PayloadType_COMPRESSABLE,
		ResponseSize: 1,
		Payload:      payload(1),
	})
	if err != nil {
		return fmt.Errorf("unary: %w", err)
	}
	if err := checkPayload(res.GetPayload(), 1); err != nil {
		return fmt.Errorf("unary: %w", err)
	}
	if err := checkEcho(md.header(EchoInitialKey), md.trailer(EchoTrailingKey)); err != nil {
		return fmt.Errorf("unary: %w", err)
	}

	s, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	err = s.Send(&testpb.StreamingOutputCallRequest{
		ResponseType:       testpb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*testpb.ResponseParameters{{Size: 1}},
		Payload:            payload(1),
	})
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	h, err := s.Header()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if _, err := s.Recv(); err != nil {
		return fmt.Errorf("recv: %w", err)
	}
	if err := s.CloseSend(); err != nil {
		return fmt.Errorf("close send: %w", err)
	}
	if _, err := s.Recv(); err != io.EOF {
		return fmt.Errorf("last recv: %v, want io.EOF", err)
	}
	if err := checkEcho(headerValues(h, EchoInitialKey), headerValues(s.Trailer(), EchoTrailingKey)); err != nil {
		return fmt.Errorf("full duplex: %w", err)
	}
	return nil
}

func unimplementedMethod(ctx context.Context, tc, _ *Client) error {
	_, err := tc.UnimplementedCall(ctx, &testpb.Empty{})
	return wantCode(err, status.Unimplemented)
}

func unimplementedService(ctx context.Context, _, unimpl *Client) error {
	_, err := unimpl.UnimplementedCall(ctx, &testpb.Empty{})
	return wantCode(err, status.Unimplemented)
}
