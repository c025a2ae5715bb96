package grpccodec_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/codec-grpc/health"
	"github.com/skiffrpc/skiff/core/status"
)

func TestHealth(t *testing.T) {
	hs := health.NewServer()
	conn := serve(grpccodec.Default, newDispatcher().register(health.ServiceInfo(), hs))
	defer conn.Close()
	ctx := context.Background()
	info := health.ServiceInfo()
	check := func(svc string) (health.ServingStatus, error) {
		var res health.CheckResponse
		err := grpccodec.Default.Unary(ctx, conn, info, "Check", &health.CheckRequest{Service: svc}, &res)
		return res.Status, err
	}
	if st, err := check(""); err != nil || st != health.Serving {
		t.Fatalf("server: %v %v", st, err)
	}
	if h := conn.lastStream().reqHeader.Get(":path"); h != "/grpc.health.v1.Health/Check" {
		t.Fatal(h)
	}
	if _, err := check("nope"); status.CodeOf(err) != status.NotFound {
		t.Fatalf("unknown service: %v", err)
	}

	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cs, err := grpccodec.Default.NewClientStream(wctx, conn, info, "Watch")
	if err != nil {
		t.Fatal(err)
	}
	_ = cs.SendMsg(&health.CheckRequest{Service: "svc"})
	_ = cs.CloseSend()
	next := func() health.ServingStatus {
		var res health.CheckResponse
		if err := cs.RecvMsg(&res); err != nil {
			t.Fatal(err)
		}
		return res.Status
	}
	if st := next(); st != health.ServiceUnknown {
		t.Fatal(st)
	}
	hs.SetServingStatus("svc", health.Serving)
	if st := next(); st != health.Serving {
		t.Fatal(st)
	}
	hs.Shutdown()
	if st := next(); st != health.NotServing {
		t.Fatal(st)
	}
	if st, _ := check(""); st != health.NotServing {
		t.Fatal(st)
	}
	hs.Resume()
	if st := next(); st != health.Serving {
		t.Fatal(st)
	}
	cancel()
	conn.Wait()
}

func TestHealthMessages(t *testing.T) {
	// The hand-written encodings match health.proto's.
	b, _ := (&health.CheckRequest{Service: "a.B"}).AppendGRPC(nil)
	want := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "a.B")
	if string(b) != string(want) {
		t.Fatalf("%x", b)
	}
	var r health.CheckResponse
	if err := r.UnmarshalGRPC([]byte{8, 2, 0x12, 1, 'x'}); err != nil || r.Status != health.NotServing {
		t.Fatal(r, err)
	}
	if err := r.UnmarshalGRPC([]byte{8}); err == nil {
		t.Fatal("truncated message accepted")
	}
	if health.NotServing.String() != "NOT_SERVING" || health.ServingStatus(9).String() != "ServingStatus(9)" {
		t.Fatal(health.ServingStatus(9))
	}
}
