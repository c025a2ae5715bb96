package grpccodec_test

import (
	"context"
	"io"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/codec-grpc/health"
	"github.com/skiffrpc/skiff/codec-grpc/reflection"
)

// fields returns the length-delimited fields of a protobuf message by
// number.
func fields(t *testing.T, b []byte) map[protowire.Number][][]byte {
	t.Helper()
	out := map[protowire.Number][][]byte{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal("bad tag")
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatal("bad bytes")
			}
			out[num] = append(out[num], v)
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			t.Fatal("bad field")
		}
		b = b[n:]
	}
	return out
}

func TestReflection(t *testing.T) {
	rs := reflection.NewServer(reflection.Options{Services: []string{health.ServiceName, reflection.ServiceNameV1}})
	d := newDispatcher().register(reflection.ServiceInfoV1(), rs).register(reflection.ServiceInfoV1Alpha(), rs)
	conn := serve(grpccodec.Default, d)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs, err := grpccodec.Default.NewClientStream(ctx, conn, reflection.ServiceInfoV1Alpha(), "ServerReflectionInfo")
	if err != nil {
		t.Fatal(err)
	}
	ask := func(req *reflection.Request) map[protowire.Number][][]byte {
		t.Helper()
		if err := cs.SendMsg(req); err != nil {
			t.Fatal(err)
		}
		var res reflection.Response
		if err := cs.RecvMsg(&res); err != nil {
			t.Fatal(err)
		}
		return fields(t, res.Raw)
	}

	// list_services
	f := ask(&reflection.Request{Host: "h", Kind: 7, Name: "*"})
	if string(f[1][0]) != "h" || len(f[2]) != 1 {
		t.Fatalf("host / original request: %v", f)
	}
	var names []string
	for _, sr := range fields(t, f[6][0])[1] {
		names = append(names, string(fields(t, sr)[1][0]))
	}
	if len(names) != 2 || names[0] != health.ServiceName || names[1] != reflection.ServiceNameV1 {
		t.Fatalf("services %v", names)
	}

	// file_containing_symbol, for a service and for a method.
	for _, sym := range []string{health.ServiceName, "grpc.health.v1.Health.Watch", "grpc.reflection.v1.ServerReflectionResponse"} {
		f = ask(&reflection.Request{Kind: 4, Name: sym})
		files := fields(t, f[4][0])[1]
		var fdp descriptorpb.FileDescriptorProto
		if len(files) != 1 || proto.Unmarshal(files[0], &fdp) != nil {
			t.Fatalf("%s: %d files", sym, len(files))
		}
		if sym == health.ServiceName && (fdp.GetPackage() != "grpc.health.v1" || len(fdp.GetService()[0].GetMethod()) != 2 || !fdp.GetService()[0].GetMethod()[1].GetServerStreaming()) {
			t.Fatalf("health descriptor %v", &fdp)
		}
	}

	// file_by_filename from the global registry, then an unknown one.
	f = ask(&reflection.Request{Kind: 3, Name: "google/protobuf/wrappers.proto"})
	var fdp descriptorpb.FileDescriptorProto
	if err := proto.Unmarshal(fields(t, f[4][0])[1][0], &fdp); err != nil || fdp.GetName() != "google/protobuf/wrappers.proto" {
		t.Fatalf("wrappers.proto: %v %v", fdp.GetName(), err)
	}
	f = ask(&reflection.Request{Kind: 3, Name: "nope.proto"})
	if len(f[7]) != 1 {
		t.Fatalf("no error response: %v", f)
	}
	if code, _ := protowire.ConsumeVarint(f[7][0][1:]); code != 5 {
		t.Fatalf("error code %d", code)
	}
	// all_extension_numbers_of_type and file_containing_extension.
	f = ask(&reflection.Request{Kind: 6, Name: "google.protobuf.StringValue"})
	if string(fields(t, f[5][0])[1][0]) != "google.protobuf.StringValue" {
		t.Fatal("extension numbers")
	}
	f = ask(&reflection.Request{Kind: 5, Name: "google.protobuf.StringValue", ExtensionNumber: 100})
	if len(f[7]) != 1 {
		t.Fatal("unknown extension found")
	}
	_ = cs.CloseSend()
	if err := cs.RecvMsg(&reflection.Response{}); err != io.EOF {
		t.Fatal(err)
	}
}
