package echo_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
)

// impl is a test EchoService.
type impl struct {
	mu       sync.Mutex
	notified []string
	failErr  func(code int32) error // what Fail returns; EchoError by default
	echoNil  bool                   // Echo returns nil, nil
}

func (s *impl) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	if s.echoNil {
		return nil, nil
	}
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}, nil
}

func (s *impl) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	if s.failErr != nil {
		return nil, s.failErr(code)
	}
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

func (s *impl) Notify(_ context.Context, message string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notified = append(s.notified, message)
	return nil
}

func TestServiceInfo(t *testing.T) {
	info := echo.ServiceInfo()
	if info.Name != "EchoService" || info.Codec != "thrift" || len(info.Methods) != 3 {
		t.Fatalf("ServiceInfo = %+v", info)
	}
	if _, ok := info.HandlerType.(*echo.EchoService); !ok {
		t.Errorf("HandlerType = %T", info.HandlerType)
	}
	for name, m := range info.Methods {
		if m.Name != name || m.Handler == nil || m.NewArgs == nil {
			t.Errorf("method %s: %+v", name, m)
		}
		if m.Oneway != (name == "Notify") || (m.NewResult == nil) != (name == "Notify") {
			t.Errorf("method %s: Oneway %v, NewResult %v", name, m.Oneway, m.NewResult != nil)
		}
		if _, ok := m.NewArgs().(thriftcodec.FastCodec); !ok {
			t.Errorf("method %s: args %T is not a FastCodec", name, m.NewArgs())
		}
	}
	if info == echo.ServiceInfo() {
		t.Error("ServiceInfo returns a shared value")
	}
}

func TestHandlers(t *testing.T) {
	ctx := context.Background()
	info := echo.ServiceInfo()
	s := &impl{}

	m := info.Method("Echo")
	args, result := m.NewArgs().(*echo.EchoServiceEchoArgs), m.NewResult().(*echo.EchoServiceEchoResult)
	args.Req = &echo.EchoRequest{Message: "hi"}
	if err := m.Handler(ctx, s, args, result); err != nil || result.Success.Message != "hi" {
		t.Fatalf("Echo: %v, %+v", err, result)
	}

	m = info.Method("Fail")
	for _, tt := range []struct {
		name    string
		failErr func(int32) error
		declare bool
	}{
		{"declared", nil, true},
		{"wrapped declared", func(c int32) error {
			return fmt.Errorf("wrapped: %w", &echo.EchoError{Code: c, Reason: "requested failure"})
		}, true},
		{"other error", func(int32) error { return errors.New("boom") }, false},
	} {
		s.failErr = tt.failErr
		args, result := m.NewArgs().(*echo.EchoServiceFailArgs), m.NewResult().(*echo.EchoServiceFailResult)
		args.Code = 7
		err := m.Handler(ctx, s, args, result)
		if tt.declare {
			if err != nil || result.Err == nil || result.Err.Code != 7 {
				t.Errorf("%s: %v, %+v", tt.name, err, result)
			}
		} else if err == nil || result.Err != nil {
			t.Errorf("%s: %v, %+v", tt.name, err, result)
		}
		// The runtime sees the declared exception through the result.
		var de *echo.EchoError
		if exc := service.ExceptionResult(result).DeclaredException(); tt.declare != (exc != nil) ||
			tt.declare && (!errors.As(exc, &de) || de != result.Err) {
			t.Errorf("%s: DeclaredException() = %#v, result %+v", tt.name, exc, result)
		}
	}
	s.failErr = nil

	m = info.Method("Notify")
	if err := m.Handler(ctx, s, &echo.EchoServiceNotifyArgs{Message: "ping"}, nil); err != nil || len(s.notified) != 1 {
		t.Fatalf("Notify: %v, %q", err, s.notified)
	}
}

// loopback is an Invoker that serves calls in process: it encodes the call
// with thriftcodec.Codec, decodes it as a server would, runs the handler from
// ServiceInfo, and sends the reply (or a TApplicationException) back the
// same way.
type loopback struct {
	info *service.Info
	impl echo.EchoService
	seq  int32
}

func (l *loopback) Call(ctx context.Context, method string, args, result any, _ ...client.CallOption) error {
	m := l.info.Method(method)
	typ := codec.Call
	if m.Oneway {
		typ = codec.Oneway
	}
	l.seq++
	wire, err := thriftcodec.Codec.Append(nil, &codec.Message{Type: typ, Method: method, SeqID: l.seq, Payload: args})
	if err != nil {
		return err
	}

	// Server side.
	var in codec.Message
	n, err := thriftcodec.Codec.DecodeEnvelope(wire, &in)
	if err != nil {
		return err
	}
	in.Payload = m.NewArgs()
	if err := thriftcodec.Codec.DecodePayload(wire[n:], &in); err != nil {
		return err
	}
	if m.Oneway {
		return m.Handler(ctx, l.impl, in.Payload, nil)
	}
	out := &codec.Message{Type: codec.Reply, Method: method, SeqID: in.SeqID, Payload: m.NewResult()}
	if err := m.Handler(ctx, l.impl, in.Payload, out.Payload); err != nil {
		se := status.Convert(err)
		if se.TypeID() == 0 {
			se = thriftcodec.ApplicationError(thriftcodec.InternalError, err.Error())
		}
		out = &codec.Message{Type: codec.Exception, Method: method, SeqID: in.SeqID, Err: se}
	}
	if wire, err = thriftcodec.Codec.Append(nil, out); err != nil {
		return err
	}

	// Client side.
	var back codec.Message
	if n, err = thriftcodec.Codec.DecodeEnvelope(wire, &back); err != nil {
		return err
	}
	if back.Type == codec.Reply {
		back.Payload = result
	}
	if err := thriftcodec.Codec.DecodePayload(wire[n:], &back); err != nil {
		return err
	}
	if back.Type == codec.Exception {
		return back.Err
	}
	return nil
}

func TestClient(t *testing.T) {
	ctx := context.Background()
	s := &impl{}
	cli := echo.NewClient(&loopback{info: echo.ServiceInfo(), impl: s})

	req := &echo.EchoRequest{Message: "hello ☺", Seq: ptr[int64](3), Extra: map[string]string{"a": "1", "b": "2"}, Blob: []byte{}}
	resp, err := cli.Echo(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}); !reflect.DeepEqual(resp, want) {
		t.Fatalf("Echo = %+v, want %+v", resp, want)
	}

	_, err = cli.Fail(ctx, 7)
	var ee *echo.EchoError
	if !errors.As(err, &ee) || ee.Code != 7 || ee.Reason != "requested failure" {
		t.Fatalf("Fail = %v", err)
	}

	s.failErr = func(int32) error { return errors.New("boom") }
	_, err = cli.Fail(ctx, 1)
	var se *status.Error
	if !errors.As(err, &se) || !errors.Is(err, status.ErrRemote) || se.TypeID() != thriftcodec.InternalError || se.Message() != "boom" {
		t.Fatalf("Fail with a plain error = %v", err)
	}

	s.echoNil = true
	_, err = cli.Echo(ctx, req)
	if !errors.As(err, &se) || se.TypeID() != thriftcodec.MissingResult {
		t.Fatalf("Echo with no result = %v", err)
	}

	if err := cli.Notify(ctx, "ping"); err != nil || !reflect.DeepEqual(s.notified, []string{"ping"}) {
		t.Fatalf("Notify: %v, %q", err, s.notified)
	}
}

// TestDeclaredException checks that only Fail's result can hold a declared
// exception, and that it reports an untyped nil, never an error holding a
// nil *EchoError, when it holds none.
func TestDeclaredException(t *testing.T) {
	info := echo.ServiceInfo()
	for name, m := range info.Methods {
		if m.NewResult == nil {
			continue
		}
		if _, ok := m.NewResult().(service.ExceptionResult); ok != (name == "Fail") {
			t.Errorf("%s result: ExceptionResult %v", name, ok)
		}
	}
	var nilResult *echo.EchoServiceFailResult
	for _, r := range []*echo.EchoServiceFailResult{nilResult, {}, {Success: &echo.EchoResponse{Message: "ok"}}, {Err: nil}} {
		if err := r.DeclaredException(); err != nil {
			t.Errorf("%+v: DeclaredException() = %#v, want nil", r, err)
		}
	}
	e := &echo.EchoError{Code: 7, Reason: "requested failure"}
	if err := (&echo.EchoServiceFailResult{Err: e}).DeclaredException(); err != error(e) {
		t.Errorf("DeclaredException() = %#v, want %#v", err, e)
	}
}
