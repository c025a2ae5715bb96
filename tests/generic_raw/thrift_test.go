package genericraw_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// thriftTransports are the framed transports a Thrift client may use.
var thriftTransports = []transport.Protocol{transport.Framed, thriftcodec.Buffered, ttheader.TTHeader, ttheader.TTHeaderFramed}

// rawEcho serves EchoService from raw payloads. Echo's args struct holds the
// request in field 1 and its result struct the response in field 0, and
// EchoRequest and EchoResponse have the same fields: the reply is the
// request with the field id changed. Fail fails with a code; Notify (a
// oneway call) is recorded.
type rawEcho struct {
	mu    sync.Mutex
	notes [][]byte
}

func (h *rawEcho) serve(_ context.Context, _, method string, req []byte) ([]byte, error) {
	switch method {
	case "Echo":
		if len(req) < 4 || req[0] != thriftcodec.TypeStruct || req[1] != 0 || req[2] != 1 {
			return nil, status.Errorf(status.InvalidArgument, "raw Echo: args %x do not start with field 1, a struct", req)
		}
		out := bytes.Clone(req)
		out[2] = 0 // field 1 of the args becomes field 0 of the result
		return out, nil
	case "Fail":
		return nil, status.New(status.PermissionDenied, "the raw handler says no")
	case "Notify":
		h.mu.Lock()
		h.notes = append(h.notes, req)
		h.mu.Unlock()
		return nil, nil
	}
	return nil, status.Errorf(status.Unimplemented, "raw: no method %s", method)
}

func (h *rawEcho) notified() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.notes
}

func request() *echo.EchoRequest {
	seq := int64(42)
	return &echo.EchoRequest{Message: "hello raw", Seq: &seq, Extra: map[string]string{"k": "v"}, Blob: []byte{0, 1, 2, 0xff}}
}

// A server with no service for Echo serves the typed echo client through
// its unknown-method handler, on every Thrift transport and both engines.
func TestThriftUnknownMethod(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Netpoll, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			rec := &recorder{}
			h := &rawEcho{}
			// The server's one service is the greeter: no Echo, Fail or Notify.
			svr := startServer(t, greeterpb.GreeterServiceInfo(), greeter.Handler{}, server.WithEngine(eng),
				server.WithMiddleware(rec.middleware), server.WithTracer(rec),
				server.WithUnknownMethodHandler(h.serve))
			for _, tp := range thriftTransports {
				t.Run(tp.Name(), func(t *testing.T) {
					cli := echo.NewClient(newClient(t, echo.ServiceInfo(), svr.Addr().String(),
						client.WithTransport(tp), client.WithRPCTimeout(5*time.Second)))
					ctx := context.Background()
					req := request()
					resp, err := cli.Echo(ctx, req)
					if err != nil {
						t.Fatal(err)
					}
					want := &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}
					if !reflect.DeepEqual(resp, want) {
						t.Fatalf("Echo: %+v, want %+v", resp, want)
					}
					// TTHeader carries the service name; Framed and Buffered do not.
					svc := ""
					if tp == ttheader.TTHeader || tp == ttheader.TTHeaderFramed {
						svc = "EchoService"
					}
					wantCalls := []string{
						`mw "` + svc + `" "Echo" *codec.Raw false`,
						`tracer "` + svc + `" "Echo"`,
					}
					if got := rec.wait(2); !equal(got, wantCalls) {
						t.Fatalf("server middleware and tracer saw %q, want %q", got, wantCalls)
					}

					// The handler's error reaches the client as a remote
					// error with its code and message.
					_, err = cli.Fail(ctx, 7)
					if !errors.Is(err, status.ErrRemote) || status.CodeOf(err) != status.PermissionDenied ||
						status.Convert(err).Message() != "the raw handler says no" {
						t.Fatalf("Fail: %v (code %v)", err, status.CodeOf(err))
					}
					if got := rec.wait(2); len(got) != 2 || got[0] != `mw "`+svc+`" "Fail" *codec.Raw true` {
						t.Fatalf("Fail: saw %q", got)
					}

					// A oneway call reaches the handler, through the
					// middleware and tracers; nothing is sent back.
					before := len(h.notified())
					if err := cli.Notify(ctx, "note"); err != nil {
						t.Fatal(err)
					}
					wantCalls = []string{`mw "` + svc + `" "Notify" *codec.Raw false`, `tracer "` + svc + `" "Notify"`}
					if got := rec.wait(2); !equal(got, wantCalls) {
						t.Fatalf("Notify: server middleware and tracer saw %q, want %q", got, wantCalls)
					}
					notes := h.notified()
					if len(notes) != before+1 {
						t.Fatal("Notify did not reach the handler")
					}
					var args echo.EchoServiceNotifyArgs
					if _, err := args.FastRead(notes[before]); err != nil || args.Message != "note" {
						t.Fatalf("Notify args %x: %+v %v", notes[before], args, err)
					}
				})
			}
		})
	}
}

// Without the handler, or for a known streaming method, an unknown method
// is still an unknown-method exception.
func TestThriftUnknownMethodWithoutHandler(t *testing.T) {
	svr := startServer(t, greeterpb.GreeterServiceInfo(), greeter.Handler{})
	cli := echo.NewClient(newClient(t, echo.ServiceInfo(), svr.Addr().String(), client.WithRPCTimeout(5*time.Second)))
	_, err := cli.Echo(context.Background(), request())
	if !errors.Is(err, status.ErrRemote) || status.CodeOf(err) != status.Unimplemented {
		t.Fatalf("Echo without a handler: %v", err)
	}
}

// echoHandler is a typed EchoService.
type echoHandler struct{}

func (echoHandler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}, nil
}

func (echoHandler) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

func (echoHandler) Notify(context.Context, string) error { return nil }

// genericThrift is a client descriptor with no methods: every method is
// named at call time.
func genericThrift() *service.Info { return &service.Info{Name: "EchoService", Codec: "thrift"} }

// A raw client calls a typed Skiff Thrift server: the args struct it
// encoded itself goes out verbatim and the result struct comes back
// undecoded.
func TestThriftRawClient(t *testing.T) {
	svr := startServer(t, echo.ServiceInfo(), echoHandler{})
	for _, tp := range thriftTransports {
		t.Run(tp.Name(), func(t *testing.T) {
			cli := newClient(t, genericThrift(), svr.Addr().String(), client.WithTransport(tp), client.WithRPCTimeout(5*time.Second))
			ctx := context.Background()
			req := request()
			args := (&echo.EchoServiceEchoArgs{Req: req}).FastAppend(nil)
			var out codec.Raw
			if err := cli.Call(ctx, "Echo", codec.Raw(args), &out); err != nil {
				t.Fatal(err)
			}
			var res echo.EchoServiceEchoResult
			if n, err := res.FastRead(out); err != nil || n != len(out) {
				t.Fatalf("result %x: %d bytes read, %v", out, n, err)
			}
			want := &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}
			if !reflect.DeepEqual(res.Success, want) {
				t.Fatalf("result %+v, want %+v", res.Success, want)
			}

			// A *codec.Raw works as the args too; a declared exception
			// arrives inside the result struct, and Call returns nil.
			failArgs := codec.Raw((&echo.EchoServiceFailArgs{Code: 9}).FastAppend(nil))
			out = nil
			if err := cli.Call(ctx, "Fail", &failArgs, &out); err != nil {
				t.Fatal(err)
			}
			var failRes echo.EchoServiceFailResult
			if _, err := failRes.FastRead(out); err != nil || failRes.Err == nil || failRes.Err.Code != 9 {
				t.Fatalf("Fail result %x: %+v %v", out, failRes, err)
			}

			// A method the server does not have is an unknown-method
			// exception, as for a typed call.
			err := cli.Call(ctx, "Nope", codec.Raw{thriftcodec.TypeStop}, &out)
			if !errors.Is(err, status.ErrRemote) || status.CodeOf(err) != status.Unimplemented {
				t.Fatalf("Nope: %v", err)
			}
		})
	}
}

// A raw reply that is not a Thrift struct is a protocol error on the
// client, not a panic or a short result.
func TestThriftRawReplyChecked(t *testing.T) {
	svr := startServer(t, nil, nil, server.WithUnknownMethodHandler(func(context.Context, string, string, []byte) ([]byte, error) {
		return []byte{thriftcodec.TypeString, 0, 0, 0xff, 0xff, 0xff, 0xff}, nil // a string of length -1
	}))
	cli := newClient(t, genericThrift(), svr.Addr().String(), client.WithRPCTimeout(5*time.Second))
	var out codec.Raw
	err := cli.Call(context.Background(), "Echo", codec.Raw{thriftcodec.TypeStop}, &out)
	if !errors.Is(err, status.ErrProtocol) || out != nil {
		t.Fatalf("bad raw reply: %x %v", out, err)
	}
}

// A binary proxy: the unknown-method handler forwards each call's raw
// payload to a backend with a raw client. Typed clients of the proxy get
// the backend's replies, declared exceptions and errors unchanged.
func TestThriftRawProxy(t *testing.T) {
	backend := startServer(t, echo.ServiceInfo(), echoHandler{})
	fwd := newClient(t, genericThrift(), backend.Addr().String(), client.WithRPCTimeout(5*time.Second))
	rec := &recorder{}
	proxy := startServer(t, nil, nil, server.WithMiddleware(rec.middleware),
		server.WithUnknownMethodHandler(func(ctx context.Context, _, method string, req []byte) ([]byte, error) {
			var out codec.Raw
			if err := fwd.Call(ctx, method, codec.Raw(req), &out); err != nil {
				return nil, err
			}
			return out, nil
		}))
	cli := echo.NewClient(newClient(t, echo.ServiceInfo(), proxy.Addr().String(),
		client.WithTransport(ttheader.TTHeaderFramed), client.WithRPCTimeout(5*time.Second)))
	ctx := context.Background()
	req := request()
	resp, err := cli.Echo(ctx, req)
	if err != nil || resp.Message != req.Message || *resp.Seq != *req.Seq || !bytes.Equal(resp.Blob, req.Blob) {
		t.Fatalf("Echo through the proxy: %+v %v", resp, err)
	}
	_, err = cli.Fail(ctx, 3)
	var ee *echo.EchoError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("Fail through the proxy: %v", err)
	}
	if got := rec.take(); !equal(got, []string{`mw "EchoService" "Echo" *codec.Raw false`, `mw "EchoService" "Fail" *codec.Raw false`}) {
		t.Fatalf("proxy middleware saw %q", got)
	}
	// The backend's unknown-method exception comes back through the proxy.
	var out codec.Raw
	raw := newClient(t, genericThrift(), proxy.Addr().String(), client.WithRPCTimeout(5*time.Second))
	err = raw.Call(ctx, "Nope", codec.Raw{thriftcodec.TypeStop}, &out)
	if !errors.Is(err, status.ErrRemote) || status.CodeOf(err) != status.Unimplemented {
		t.Fatalf("Nope through the proxy: %v", err)
	}
}
