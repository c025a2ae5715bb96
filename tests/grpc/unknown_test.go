package grpcinterop_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	gstatus "google.golang.org/grpc/status"

	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"

	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// The interop cases reach UnimplementedCall, which TestService declares;
// these reach the server's routing: a method and a service it has never
// heard of must be UNIMPLEMENTED too (Kitex answers codes 1 and 20).

// TestUnknownRouteGRPCGoClient: grpc-go calls unknown paths on Skiff.
func TestUnknownRouteGRPCGoClient(t *testing.T) {
	addr := startSkiff(t, nil)
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	for _, path := range []string{
		"/grpc.testing.TestService/NoSuchMethod",
		"/grpc.testing.NoSuchService/EmptyCall",
		"/TestService/NoSuchMethod",
	} {
		err := cc.Invoke(ctx, path, &testpb.Empty{}, &testpb.Empty{})
		if gstatus.Code(err) != codes.Unimplemented {
			t.Errorf("%s: %v, want code Unimplemented", path, err)
		}
	}
}

// withMethod returns svc with one more unary method, name, that no
// server implements.
func withMethod(svc *service.Info, name string) *service.Info {
	m := *svc.Methods["EmptyCall"]
	m.Name, m.Handler = name, nil
	svc.Methods[name] = &m
	return svc
}

// TestUnknownRouteSkiffClient: a Skiff client calls a method the server
// does not have, on grpc-go's server and on Skiff's.
func TestUnknownRouteSkiffClient(t *testing.T) {
	for name, addr := range map[string]string{"grpc-go": startGRPCGo(t, nil), "skiff": startSkiff(t, nil)} {
		t.Run(name, func(t *testing.T) {
			cli := dialSkiff(t, withMethod(grpcinterop.TestServiceInfo(), "NoSuchMethod"), addr, nil)
			ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
			defer cancel()
			args, res := grpcinterop.TestServiceEmptyCallArgs{Req: &testpb.Empty{}}, grpcinterop.TestServiceEmptyCallResult{}
			err := cli.Call(ctx, "NoSuchMethod", &args, &res)
			if status.CodeOf(err) != status.Unimplemented {
				t.Fatalf("%v, want code Unimplemented", err)
			}
		})
	}
}
