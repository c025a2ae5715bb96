package kitexpb_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	kmetainfo "github.com/bytedance/gopkg/cloud/metainfo"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/rpcinfo"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/status"
	pb "github.com/skiffrpc/skiff/tests/kitexpb/interoppb"
	kpb "github.com/skiffrpc/skiff/tests/kitexpb/kitex_gen/interoppb"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

var bizExtra = map[string]string{"retry": "no", "quota": "7"}

// seen is what a server handler observed of one call.
type seen struct {
	caller, method        string
	left                  time.Duration
	hasDeadline           bool
	transient, persistent string
}

func (s seen) check(t *testing.T, caller string) {
	t.Helper()
	if s.caller != caller {
		t.Errorf("caller service: got %q, want %q", s.caller, caller)
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

// Kitex client → Skiff server, Kitex Protobuf in TTHeader+Framed: the
// caller, method, timeout and transient and persistent metainfo arrive in
// the TTHeader, a backward value comes back, and a business error arrives
// intact.
func TestMetaKitexToSkiff(t *testing.T) {
	got := make(chan seen, 1)
	addr := startSkiff(t, skiffImpl{echo: func(ctx context.Context, req *pb.EchoRequest) (*pb.EchoResponse, error) {
		var s seen
		if ci := callinfo.From(ctx); ci != nil {
			s.caller, s.method = ci.Caller, ci.Method
		}
		d, ok := ctx.Deadline()
		s.hasDeadline, s.left = ok, time.Until(d)
		s.transient, _ = metainfo.GetValue(ctx, "tk")
		s.persistent, _ = metainfo.GetPersistentValue(ctx, "pk")
		got <- s
		if req.Message == "biz" {
			return nil, &status.BizError{Code: 4001, Message: "quota exceeded", Extra: bizExtra}
		}
		metainfo.SendBackwardValue(ctx, "bk", "bv")
		return &pb.EchoResponse{Echo: req, Server: "skiff"}, nil
	}})
	cli := dialKitex(t, addr)
	ctx := kmetainfo.WithValue(bounded(t), "tk", "tv")
	ctx = kmetainfo.WithPersistentValue(ctx, "pk", "pv")
	ctx = kmetainfo.WithBackwardValues(ctx)
	if _, err := cli.Echo(ctx, &kpb.EchoRequest{Message: "x"}); err != nil {
		t.Fatalf("Echo: %v", err)
	}
	(<-got).check(t, "kitex-client")
	if v, ok := kmetainfo.RecvBackwardValue(ctx, "bk"); !ok || v != "bv" {
		t.Errorf("backward value at the Kitex client: %q, %v; it received %v", v, ok, kmetainfo.RecvAllBackwardValues(ctx))
	}

	_, err := cli.Echo(ctx, &kpb.EchoRequest{Message: "biz"})
	<-got
	be, ok := kerrors.FromBizStatusError(err)
	if !ok {
		t.Fatalf("want a business status error, got %T %v", err, err)
	}
	if be.BizStatusCode() != 4001 || be.BizMessage() != "quota exceeded" || !maps.Equal(be.BizExtra(), bizExtra) {
		t.Errorf("business error: code %d msg %q extra %v", be.BizStatusCode(), be.BizMessage(), be.BizExtra())
	}
}

// Skiff client → Kitex server, Kitex Protobuf in TTHeader+Framed: the same
// values and the business error cross the other way.
func TestMetaSkiffToKitex(t *testing.T) {
	got := make(chan seen, 1)
	addr := startKitex(t, &kitexImpl{echo: func(ctx context.Context, req *kpb.EchoRequest) (*kpb.EchoResponse, error) {
		var s seen
		if ri := rpcinfo.GetRPCInfo(ctx); ri != nil {
			s.caller, s.method = ri.From().ServiceName(), ri.To().Method()
		}
		d, ok := ctx.Deadline()
		s.hasDeadline, s.left = ok, time.Until(d)
		s.transient, _ = kmetainfo.GetValue(ctx, "tk")
		s.persistent, _ = kmetainfo.GetPersistentValue(ctx, "pk")
		got <- s
		if req.Message == "biz" {
			return nil, kerrors.NewBizStatusErrorWithExtra(4001, "quota exceeded", bizExtra)
		}
		kmetainfo.SendBackwardValue(ctx, "bk", "bv")
		return &kpb.EchoResponse{Echo: req, Server: "kitex"}, nil
	}})
	cli := dialSkiff(t, addr, ttheader.TTHeaderFramed)
	ctx := metainfo.WithValue(bounded(t), "tk", "tv")
	ctx = metainfo.WithPersistentValue(ctx, "pk", "pv")
	ctx = metainfo.WithBackwardValues(ctx)
	if _, err := cli.Echo(ctx, &pb.EchoRequest{Message: "x"}); err != nil {
		t.Fatalf("Echo: %v", err)
	}
	(<-got).check(t, "skiff-client")
	if v, ok := metainfo.RecvBackwardValue(ctx, "bk"); !ok || v != "bv" {
		t.Errorf("backward value at the Skiff client: %q, %v", v, ok)
	}

	_, err := cli.Echo(ctx, &pb.EchoRequest{Message: "biz"})
	<-got
	var be *status.BizError
	if !errors.As(err, &be) {
		t.Fatalf("want *status.BizError, got %T %v", err, err)
	}
	if be.Code != 4001 || be.Message != "quota exceeded" || !maps.Equal(be.Extra, bizExtra) {
		t.Errorf("business error: %+v", be)
	}
}
