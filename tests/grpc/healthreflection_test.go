package grpcinterop_test

import (
	"context"
	"io"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	gstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/skiffrpc/skiff/codec-grpc/health"
	"github.com/skiffrpc/skiff/codec-grpc/reflection"
	"github.com/skiffrpc/skiff/core/server"
	grpcinterop "github.com/skiffrpc/skiff/tests/grpc"
)

// startSkiffFull runs a Skiff server of TestService plus the health and
// reflection (v1 and v1alpha) services, and returns its address and health
// server.
func startSkiffFull(t *testing.T) (string, *health.Server) {
	t.Helper()
	hs := health.NewServer()
	rs := reflection.NewServer(reflection.Options{
		Services: reflection.ServicesOf(grpcinterop.TestServiceInfo(), health.ServiceInfo(),
			reflection.ServiceInfoV1(), reflection.ServiceInfoV1Alpha()),
	})
	addr := startSkiffWith(t, nil, func(s *server.Server) error {
		if err := s.RegisterService(grpcinterop.TestServiceInfo(), grpcinterop.NewTestServer()); err != nil {
			return err
		}
		if err := s.RegisterService(health.ServiceInfo(), hs); err != nil {
			return err
		}
		if err := s.RegisterService(reflection.ServiceInfoV1(), rs); err != nil {
			return err
		}
		return s.RegisterService(reflection.ServiceInfoV1Alpha(), rs)
	})
	return addr, hs
}

// dialGRPCGo returns a plaintext grpc-go client connection to addr.
func dialGRPCGo(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// TestHealthGRPCGoClient: grpc-go's grpc.health.v1 client checks and
// watches a Skiff server.
func TestHealthGRPCGoClient(t *testing.T) {
	addr, hs := startSkiffFull(t)
	hc := healthpb.NewHealthClient(dialGRPCGo(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()

	res, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check(\"\") = %v, %v; want SERVING", res, err)
	}
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.Such"}); gstatus.Code(err) != codes.NotFound {
		t.Fatalf("Check(no.Such) = %v; want NotFound", err)
	}

	const svc = "grpc.testing.TestService"
	hs.SetServingStatus(svc, health.NotServing)
	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := w.Recv(); err != nil || res.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("first watch update = %v, %v; want NOT_SERVING", res, err)
	}
	hs.SetServingStatus(svc, health.Serving)
	if res, err := w.Recv(); err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("second watch update = %v, %v; want SERVING", res, err)
	}
}

// TestReflectionGRPCGoClient: grpc-go's server reflection v1 client (what
// grpcurl speaks) lists the services of a Skiff server and gets the file
// descriptor of TestService.
func TestReflectionGRPCGoClient(t *testing.T) {
	addr, _ := startSkiffFull(t)
	rc := rpb.NewServerReflectionClient(dialGRPCGo(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	s, err := rc.ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if err := s.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sv := range res.GetListServicesResponse().GetService() {
		names = append(names, sv.GetName())
	}
	for _, want := range []string{"grpc.testing.TestService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !slices.Contains(names, want) {
			t.Errorf("list services = %v, missing %s", names, want)
		}
	}

	err = s.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "grpc.testing.TestService"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err = s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	fdr := res.GetFileDescriptorResponse()
	if fdr == nil {
		t.Fatalf("file containing symbol: %v", res)
	}
	// The answer holds the file and its dependencies; build them into a
	// registry the way grpcurl does and look the service up.
	var set descriptorpb.FileDescriptorSet
	for _, b := range fdr.GetFileDescriptorProto() {
		fd := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(b, fd); err != nil {
			t.Fatal(err)
		}
		set.File = append(set.File, fd)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatalf("descriptors do not link: %v", err)
	}
	d, err := files.FindDescriptorByName("grpc.testing.TestService")
	if err != nil {
		t.Fatal(err)
	}
	sd := d.(protoreflect.ServiceDescriptor)
	if n := sd.Methods().Len(); n != 8 {
		t.Errorf("TestService has %d methods, want 8", n)
	}
	if m := sd.Methods().ByName("FullDuplexCall"); m == nil || !m.IsStreamingClient() || !m.IsStreamingServer() {
		t.Errorf("FullDuplexCall = %v, want a bidi method", m)
	}

	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("end of stream: %v, want io.EOF", err)
	}
}
