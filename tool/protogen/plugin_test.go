package protogen_test

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/skiffrpc/skiff/tool/protogen"
)

// runPlugin runs RunPlugin on req and returns the response.
func runPlugin(t *testing.T, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	in, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := protogen.RunPlugin(bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	resp := new(pluginpb.CodeGeneratorResponse)
	if err := proto.Unmarshal(out.Bytes(), resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestRunPlugin drives the plugin without protoc, with a hand-made request.
func TestRunPlugin(t *testing.T) {
	file := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("s.proto"),
		Package:    proto.String("p"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/empty.proto"},
		Options:    &descriptorpb.FileOptions{GoPackage: proto.String("example.com/p;p")},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("S"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name:            proto.String("Tail"),
				InputType:       proto.String(".google.protobuf.Empty"),
				OutputType:      proto.String(".google.protobuf.Empty"),
				ServerStreaming: proto.Bool(true),
			}},
		}},
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: []string{"s.proto"},
		ProtoFile:      []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(emptypb.File_google_protobuf_empty_proto), file},
		Parameter:      proto.String("paths=source_relative"),
	}
	resp := runPlugin(t, req)
	if resp.Error != nil || len(resp.File) != 1 || resp.File[0].GetName() != "s_skiff.pb.go" ||
		!strings.Contains(resp.File[0].GetContent(), "Tail(req *emptypb.Empty, srv stream.ServerStreamingServer[emptypb.Empty]) error") {
		t.Errorf("response: %v", resp)
	}
	if resp.GetSupportedFeatures()&uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL) == 0 {
		t.Error("proto3 optional not declared supported")
	}

	req.Parameter = proto.String("paths=source_relative,messages=true")
	resp = runPlugin(t, req)
	var names []string
	for _, f := range resp.File {
		names = append(names, f.GetName())
	}
	if resp.Error != nil || strings.Join(names, " ") != "s.pb.go s_skiff.pb.go" {
		t.Errorf("messages=true: files %v, error %q", names, resp.GetError())
	}

	// The client is SClient, with the deprecated SSkiffClient alias; with
	// grpc_compat=true it is SSkiffClient alone, apart from
	// protoc-gen-go-grpc's SClient.
	req.Parameter = proto.String("paths=source_relative")
	code := runPlugin(t, req).File[0].GetContent()
	for _, want := range []string{"func NewSClient(c *client.Client) *SClient {", "type SSkiffClient = SClient", "func NewSSkiffClient(c *client.Client) *SClient {"} {
		if !strings.Contains(code, want) {
			t.Errorf("default names: code lacks %q", want)
		}
	}
	req.Parameter = proto.String("paths=source_relative,grpc_compat=true")
	code = runPlugin(t, req).File[0].GetContent()
	if !strings.Contains(code, "func NewSSkiffClient(c *client.Client) *SSkiffClient {") || strings.Contains(code, "SClient") {
		t.Errorf("grpc_compat=true:\n%s", code)
	}

	req.Parameter = proto.String("colour=blue")
	if resp = runPlugin(t, req); !strings.Contains(resp.GetError(), "colour=blue") || len(resp.File) != 0 {
		t.Errorf("unknown parameter: %v", resp)
	}
}

func TestRunPluginBadInput(t *testing.T) {
	var out bytes.Buffer
	if err := protogen.RunPlugin(strings.NewReader("\xff\xff\xff"), &out); err == nil || out.Len() != 0 {
		t.Errorf("garbage request: error %v, %d bytes written", err, out.Len())
	}
}
