package kitexpb_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/cloudwego/kitex/pkg/remote"
	"google.golang.org/protobuf/proto"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/status"
	pb "github.com/skiffrpc/skiff/tests/kitexpb/interoppb"
	kpb "github.com/skiffrpc/skiff/tests/kitexpb/kitex_gen/interoppb"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// kitexException checks that err, as a Kitex client returns it, carries a
// Kitex Protobuf exception (ErrorProto) of type typeID whose message
// contains text.
func kitexException(t *testing.T, err error, typeID int32, text string) {
	t.Helper()
	var te *remote.TransError
	if !errors.As(err, &te) {
		t.Fatalf("want a *remote.TransError, got %T %v", err, err)
	}
	if te.TypeID() != typeID || !strings.Contains(te.Error(), text) {
		t.Errorf("exception: type %d %q, want type %d containing %q", te.TypeID(), te.Error(), typeID, text)
	}
}

// skiffException checks that err, as a Skiff client returns it, is the
// remote error of an exception of type typeID with code and a message
// containing text.
func skiffException(t *testing.T, err error, typeID int32, code status.Code, text string) {
	t.Helper()
	var se *status.Error
	if !errors.As(err, &se) {
		t.Fatalf("want a *status.Error, got %T %v", err, err)
	}
	if !errors.Is(err, status.ErrRemote) || errors.Is(err, status.ErrProtocol) {
		t.Errorf("%v: want a remote error and not a protocol error", err)
	}
	if se.TypeID() != typeID || se.Code() != code || !strings.Contains(se.Message(), text) {
		t.Errorf("exception: type %d code %v %q, want type %d code %v containing %q", se.TypeID(), se.Code(), se.Message(), typeID, code, text)
	}
}

// Kitex client → Skiff server (Kitex Protobuf over TTHeader+Framed): a
// request with nested messages, repeated and map fields round-trips, the
// empty message works, a handler error arrives as an InternalError
// exception and an unknown method as an UnknownMethod exception.
func TestKitexClientSkiffServer(t *testing.T) {
	var mu sync.Mutex
	var wire []string
	addr := startSkiff(t, skiffImpl{echo: func(ctx context.Context, req *pb.EchoRequest) (*pb.EchoResponse, error) {
		ci := callinfo.From(ctx)
		mu.Lock()
		wire = append(wire, ci.Transport+"/"+ci.Codec)
		mu.Unlock()
		return &pb.EchoResponse{Echo: req, Server: "skiff"}, nil
	}})
	cli := dialKitex(t, addr)
	ctx := bounded(t)
	for i := int64(0); i < 3; i++ {
		req := sample(i)
		resp, err := cli.Echo(ctx, toKitex(t, req, &kpb.EchoRequest{}))
		if err != nil {
			t.Fatalf("Echo: %v", err)
		}
		got := fromKitex(t, resp, &pb.EchoResponse{})
		if want := (&pb.EchoResponse{Echo: req, Server: "skiff"}); !proto.Equal(got, want) {
			t.Fatalf("Echo:\n got %v\nwant %v", got, want)
		}
	}
	// The empty request (all defaults) is an empty message on the wire.
	resp, err := cli.Echo(ctx, &kpb.EchoRequest{})
	if err != nil || resp.GetServer() != "skiff" || resp.GetEcho() == nil || resp.GetEcho().GetMessage() != "" {
		t.Fatalf("Echo(empty): %+v, %v", resp, err)
	}
	if resp, err := cli.Ping(ctx, &kpb.Empty{}); err != nil || resp == nil {
		t.Fatalf("Ping: %v, %v", resp, err)
	}

	_, err = cli.Fail(ctx, &kpb.FailRequest{Reason: "requested failure"})
	kitexException(t, err, remote.InternalError, "requested failure")
	_, err = cli.Missing(ctx, &kpb.Empty{})
	kitexException(t, err, remote.UnknownMethod, "Missing")

	// The connection is still good.
	if _, err := cli.Ping(ctx, &kpb.Empty{}); err != nil {
		t.Fatalf("Ping after the errors: %v", err)
	}
	// Kitex sent every call as TTHeader (the server's protocol for both
	// TTHeader forms) carrying Kitex Protobuf.
	mu.Lock()
	defer mu.Unlock()
	if len(wire) != 4 {
		t.Errorf("%d Echo calls seen, want 4", len(wire))
	}
	for _, w := range wire {
		if w != "ttheader/protobuf" {
			t.Errorf("a call came as %s, want ttheader/protobuf", w)
		}
	}
}

// Skiff client → Kitex server, over TTHeader+Framed and Framed: the same
// calls; Kitex's exceptions arrive as remote *status.Error values with the
// exception type and the code it maps to.
func TestSkiffClientKitexServer(t *testing.T) {
	addr := startKitex(t, &kitexImpl{})
	for _, w := range wires {
		t.Run(w.Name(), func(t *testing.T) {
			cli := dialSkiff(t, addr, w)
			ctx := bounded(t)
			for i := int64(0); i < 3; i++ {
				req := sample(i)
				resp, err := cli.Echo(ctx, req)
				if err != nil {
					t.Fatalf("Echo: %v", err)
				}
				if want := (&pb.EchoResponse{Echo: req, Server: "kitex"}); !proto.Equal(resp, want) {
					t.Fatalf("Echo:\n got %v\nwant %v", resp, want)
				}
			}
			resp, err := cli.Echo(ctx, &pb.EchoRequest{})
			if err != nil || resp.GetServer() != "kitex" || resp.GetEcho().GetMessage() != "" {
				t.Fatalf("Echo(empty): %v, %v", resp, err)
			}
			if resp, err := cli.Ping(ctx, &pb.Empty{}); err != nil || resp == nil {
				t.Fatalf("Ping: %v, %v", resp, err)
			}

			_, err = cli.Fail(ctx, &pb.FailRequest{Reason: "requested failure"})
			skiffException(t, err, status.TypeInternalError, status.Internal, "requested failure")
			_, err = cli.Missing(ctx, &pb.Empty{})
			if w == ttheader.TTHeaderFramed {
				skiffException(t, err, status.TypeUnknownMethod, status.Unimplemented, "Missing")
			} else {
				// Over plain Framed there is no service name, and Kitex answers
				// UnknownService (20) "unknown service , method Missing" with
				// sequence id 0 (it looks the method up before it reads the
				// sequence id); like Kitex's client, Skiff's accepts an
				// exception whatever its sequence id on a ping-pong connection.
				skiffException(t, err, status.TypeUnknownService, status.Unimplemented, "Missing")
			}

			if _, err := cli.Ping(ctx, &pb.Empty{}); err != nil {
				t.Fatalf("Ping after the errors: %v", err)
			}
		})
	}
}

// Skiff client → Skiff server over both transports: the same behaviour as
// with a Kitex peer, so either side can be swapped.
func TestSkiffToSkiff(t *testing.T) {
	addr := startSkiff(t, skiffImpl{})
	for _, w := range wires {
		t.Run(w.Name(), func(t *testing.T) {
			cli := dialSkiff(t, addr, w)
			ctx := bounded(t)
			req := sample(9)
			resp, err := cli.Echo(ctx, req)
			if err != nil || !proto.Equal(resp, &pb.EchoResponse{Echo: req, Server: "skiff"}) {
				t.Fatalf("Echo: %v, %v", resp, err)
			}
			_, err = cli.Fail(ctx, &pb.FailRequest{Reason: "requested failure"})
			skiffException(t, err, status.TypeInternalError, status.Internal, "requested failure")
			_, err = cli.Missing(ctx, &pb.Empty{})
			skiffException(t, err, status.TypeUnknownMethod, status.Unimplemented, "Missing")
		})
	}
}
