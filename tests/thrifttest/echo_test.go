package thrifttest_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/examples/echo"
	genecho "github.com/skiffrpc/skiff/tests/thrifttest/gen/echo"
)

// TestEchoMatchesHandWritten compares the code skiff generates for
// examples/echo/echo.thrift with the hand-written code of examples/echo,
// which is the model of what the generator emits: same encodings, same
// service descriptor.
func TestEchoMatchesHandWritten(t *testing.T) {
	seq := int64(7)
	hand := &echo.EchoRequest{Message: "hi", Seq: &seq, Extra: map[string]string{"k": "v"}, Blob: []byte{1, 2}}
	gen := &genecho.EchoRequest{Message: "hi", Seq: &seq, Extra: map[string]string{"k": "v"}, Blob: []byte{1, 2}}
	if h, g := hand.FastAppend(nil), gen.FastAppend(nil); !bytes.Equal(h, g) {
		t.Errorf("EchoRequest encodings differ:\nhand %x\ngen  %x", h, g)
	}
	he := &echo.EchoError{Code: 3, Reason: "r"}
	ge := &genecho.EchoError{Code: 3, Reason: "r"}
	if h, g := he.FastAppend(nil), ge.FastAppend(nil); !bytes.Equal(h, g) {
		t.Errorf("EchoError encodings differ:\nhand %x\ngen  %x", h, g)
	}
	if he.Error() != ge.Error() {
		t.Errorf("Error() = %q, hand-written %q", ge.Error(), he.Error())
	}
	if h, g := (&echo.EchoServiceFailResult{Err: he}).DeclaredException(), (&genecho.EchoServiceFailResult{Err: ge}).DeclaredException(); h != error(he) || g != error(ge) {
		t.Errorf("DeclaredException() = %#v, hand-written %#v", g, h)
	}
	if h, g := (&echo.EchoServiceFailResult{}).DeclaredException(), (&genecho.EchoServiceFailResult{}).DeclaredException(); h != nil || g != nil {
		t.Errorf("DeclaredException() of no exception = %#v, hand-written %#v", g, h)
	}

	hi, gi := echo.ServiceInfo(), genecho.EchoServiceServiceInfo()
	if hi.Name != gi.Name || hi.Codec != gi.Codec || !reflect.DeepEqual(hi.Extra, gi.Extra) {
		t.Errorf("service info: hand %+v, generated %+v", hi, gi)
	}
	var hm, gm []string
	for name, m := range hi.Methods {
		hm = append(hm, name)
		g := gi.Methods[name]
		if g == nil || g.Oneway != m.Oneway || (g.NewResult == nil) != (m.NewResult == nil) {
			t.Errorf("method %s: hand %+v, generated %+v", name, m, g)
			continue
		}
		if m.NewResult != nil {
			_, hok := m.NewResult().(service.ExceptionResult)
			_, gok := g.NewResult().(service.ExceptionResult)
			if hok != gok {
				t.Errorf("method %s: result is an ExceptionResult: hand %v, generated %v", name, hok, gok)
			}
		}
	}
	for name := range gi.Methods {
		gm = append(gm, name)
	}
	sort.Strings(hm)
	sort.Strings(gm)
	if !reflect.DeepEqual(hm, gm) {
		t.Errorf("methods: hand %v, generated %v", hm, gm)
	}
}

// handEcho is the hand-written echo service.
type handEcho struct{}

func (handEcho) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}, nil
}
func (handEcho) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}
func (handEcho) Notify(context.Context, string) error { return nil }

// TestGeneratedClientCallsHandWrittenServer: the generated echo client
// calls the hand-written examples/echo server.
func TestGeneratedClientCallsHandWrittenServer(t *testing.T) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(time.Second))
	if err := svr.RegisterService(echo.ServiceInfo(), handEcho{}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svr.Stop() })
	cli, err := client.New(genecho.EchoServiceServiceInfo(), client.WithHostPorts(svr.Addr().String()), client.WithRPCTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	c := genecho.NewEchoServiceClient(cli)
	ctx := context.Background()
	seq := int64(9)
	resp, err := c.Echo(ctx, &genecho.EchoRequest{Message: "hello", Seq: &seq, Extra: map[string]string{"a": "b"}})
	if err != nil || resp.Message != "hello" || resp.GetSeq() != 9 || resp.Extra["a"] != "b" {
		t.Fatalf("Echo = %+v, %v", resp, err)
	}
	_, err = c.Fail(ctx, 5)
	var ee *genecho.EchoError
	if !errors.As(err, &ee) || ee.Code != 5 {
		t.Fatalf("Fail = %v", err)
	}
	if err := c.Notify(ctx, "n"); err != nil {
		t.Fatalf("Notify: %v", err)
	}
}
