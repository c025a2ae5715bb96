package kitex_test

import (
	"context"
	"errors"
	"testing"
	"time"

	kmetainfo "github.com/bytedance/gopkg/cloud/metainfo"
	"github.com/cloudwego/kitex/pkg/consts"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	kserver "github.com/cloudwego/kitex/server"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
	kecho "github.com/skiffrpc/skiff/tests/kitex/kitex_gen/echo"
)

func clientTransport(w wire) client.Option { return client.WithTransport(w.skiff) }

// seen is what a server handler observed of one call.
type seen struct {
	caller, callerMethod, method string
	left                         time.Duration
	hasDeadline                  bool
	transient, persistent        string
}

func (s seen) check(t *testing.T, caller string) {
	t.Helper()
	if s.caller != caller {
		t.Errorf("caller service: got %q, want %q", s.caller, caller)
	}
	if s.callerMethod != "ParentMethod" {
		t.Errorf("caller method: got %q, want %q", s.callerMethod, "ParentMethod")
	}
	if s.method != "Echo" {
		t.Errorf("method: got %q, want Echo", s.method)
	}
	if !s.hasDeadline || s.left <= 0 || s.left > callTimeout {
		t.Errorf("server deadline: has %v, %v left; want within the client's %v", s.hasDeadline, s.left, callTimeout)
	}
	if s.transient != "tv" {
		t.Errorf("transient metainfo: got %q, want tv", s.transient)
	}
	if s.persistent != "pv" {
		t.Errorf("persistent metainfo: got %q, want pv", s.persistent)
	}
}

var bizExtra = map[string]string{"retry": "no", "quota": "7"}

// Kitex client → Skiff server over TTHeader(+Framed): caller and method
// names, the timeout, transient and persistent metainfo arrive, a backward
// value comes back, and a business error arrives intact.
func TestMetaKitexToSkiff(t *testing.T) {
	got := make(chan seen, 1)
	addr := startSkiff(t, skiffEcho{echo: func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
		var s seen
		if ci := callinfo.From(ctx); ci != nil {
			s.caller, s.callerMethod, s.method = ci.Caller, ci.CallerMethod, ci.Method
		}
		d, ok := ctx.Deadline()
		s.hasDeadline, s.left = ok, time.Until(d)
		s.transient, _ = metainfo.GetValue(ctx, "tk")
		s.persistent, _ = metainfo.GetPersistentValue(ctx, "pk")
		select {
		case got <- s:
		default:
		}
		if req.Message == "biz" {
			return nil, &status.BizError{Code: 4001, Message: "quota exceeded", Extra: bizExtra}
		}
		metainfo.SendBackwardValue(ctx, "bk", "bv")
		return &echo.EchoResponse{Message: req.Message}, nil
	}})
	for _, w := range wires {
		if !w.meta {
			continue
		}
		t.Run(w.name, func(t *testing.T) {
			cli := dialKitex(t, addr, w)
			// Kitex takes the caller's method from this context value (set by
			// a Kitex server for its handlers).
			ctx := context.WithValue(bounded(t), consts.CtxKeyMethod, "ParentMethod") //nolint:staticcheck // Kitex's key
			ctx = kmetainfo.WithValue(ctx, "tk", "tv")
			ctx = kmetainfo.WithPersistentValue(ctx, "pk", "pv")
			ctx = kmetainfo.WithBackwardValues(ctx)
			if _, err := cli.Echo(ctx, &kecho.EchoRequest{Message: "x"}); err != nil {
				t.Fatalf("Echo: %v", err)
			}
			(<-got).check(t, "kitex-client")
			if v, ok := kmetainfo.RecvBackwardValue(ctx, "bk"); !ok || v != "bv" {
				// Kitex's client takes every string key of the reply header
				// as a backward value, under its bare name.
				t.Errorf("backward value at the Kitex client: %q, %v; it received %v", v, ok, kmetainfo.RecvAllBackwardValues(ctx))
			}

			_, err := cli.Echo(ctx, &kecho.EchoRequest{Message: "biz"})
			<-got
			be, ok := kerrors.FromBizStatusError(err)
			if !ok {
				t.Fatalf("want a business status error, got %T %v", err, err)
			}
			if be.BizStatusCode() != 4001 || be.BizMessage() != "quota exceeded" ||
				len(be.BizExtra()) != 2 || be.BizExtra()["retry"] != "no" || be.BizExtra()["quota"] != "7" {
				t.Errorf("business error: code %d msg %q extra %v", be.BizStatusCode(), be.BizMessage(), be.BizExtra())
			}
		})
	}
}

// Skiff client → Kitex server over TTHeader(+Framed): the same checks.
func TestMetaSkiffToKitex(t *testing.T) {
	got := make(chan seen, 1)
	keys := &replyKeys{}
	addr := startKitex(t, &kitexEcho{echo: func(ctx context.Context, req *kecho.EchoRequest) (*kecho.EchoResponse, error) {
		var s seen
		if ri := rpcinfo.GetRPCInfo(ctx); ri != nil {
			s.caller, s.callerMethod, s.method = ri.From().ServiceName(), ri.From().Method(), ri.To().Method()
		}
		d, ok := ctx.Deadline()
		s.hasDeadline, s.left = ok, time.Until(d)
		s.transient, _ = kmetainfo.GetValue(ctx, "tk")
		s.persistent, _ = kmetainfo.GetPersistentValue(ctx, "pk")
		select {
		case got <- s:
		default:
		}
		if req.Message == "biz" {
			return nil, kerrors.NewBizStatusErrorWithExtra(4001, "quota exceeded", bizExtra)
		}
		kmetainfo.SendBackwardValue(ctx, "bk", "bv")
		return &kecho.EchoResponse{Message: req.Message}, nil
	}}, kserver.WithMetaHandler(keys))
	// Skiff has no ambient caller method for a client call; a middleware
	// sets it on the call info.
	callerMethod := client.WithMiddleware(func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			callinfo.From(ctx).CallerMethod = "ParentMethod"
			return next(ctx, req, resp)
		}
	})
	for _, w := range wires {
		if !w.meta {
			continue
		}
		t.Run(w.name, func(t *testing.T) {
			cli := dialSkiff(t, addr, clientTransport(w), callerMethod)
			ctx := metainfo.WithValue(bounded(t), "tk", "tv")
			ctx = metainfo.WithPersistentValue(ctx, "pk", "pv")
			ctx = metainfo.WithBackwardValues(ctx)
			if _, err := cli.Echo(ctx, &echo.EchoRequest{Message: "x"}); err != nil {
				t.Fatalf("Echo: %v", err)
			}
			(<-got).check(t, "skiff-client")
			if v, ok := metainfo.RecvBackwardValue(ctx, "bk"); !ok || v != "bv" {
				t.Errorf("backward value at the Skiff client: %q, %v; the Kitex server's reply header had string keys %v", v, ok, keys.get())
			}

			_, err := cli.Echo(ctx, &echo.EchoRequest{Message: "biz"})
			<-got
			var be *status.BizError
			if !errors.As(err, &be) {
				t.Fatalf("want *status.BizError, got %T %v", err, err)
			}
			if be.Code != 4001 || be.Message != "quota exceeded" ||
				len(be.Extra) != 2 || be.Extra["retry"] != "no" || be.Extra["quota"] != "7" {
				t.Errorf("business error: %+v", be)
			}
		})
	}
}
