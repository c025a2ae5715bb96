package protogen

import (
	"flag"
	"fmt"
	"io"

	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	gp "google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// maxRequest bounds the CodeGeneratorRequest RunPlugin reads.
const maxRequest = 256 << 20

// RunPlugin runs protoc-gen-skiff: it reads a CodeGeneratorRequest from r
// and writes the CodeGeneratorResponse to w. By default it writes only the
// Skiff service code (x_skiff.pb.go), since protoc users run protoc-gen-go
// for the messages; the parameter messages=true adds the messages
// (x.pb.go, as protoc-gen-go writes them); grpc_compat=true names each
// service's client FooSkiffClient (NewFooSkiffClient) instead of FooClient,
// so that protoc-gen-go-grpc's code for the same service fits in the same
// package. protoc-gen-go's parameters
// (paths, module, M) work as with protoc-gen-go. Errors in the request are
// reported in the response, as protoc expects; the returned error is only
// for failures to read or write.
func RunPlugin(r io.Reader, w io.Writer) error {
	in, err := io.ReadAll(io.LimitReader(r, maxRequest+1))
	if err != nil {
		return fmt.Errorf("protoc-gen-skiff: read request: %w", err)
	}
	if len(in) > maxRequest {
		return fmt.Errorf("protoc-gen-skiff: request larger than %d bytes", maxRequest)
	}
	req := new(pluginpb.CodeGeneratorRequest)
	if err := proto.Unmarshal(in, req); err != nil {
		return fmt.Errorf("protoc-gen-skiff: parse request: %w", err)
	}
	out, err := proto.Marshal(run(req, false))
	if err != nil {
		return fmt.Errorf("protoc-gen-skiff: encode response: %w", err)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("protoc-gen-skiff: write response: %w", err)
	}
	return nil
}

// run generates the files for req: messages (when messages is true or the
// parameter messages=true is given) and service code.
func run(req *pluginpb.CodeGeneratorRequest, messages bool) *pluginpb.CodeGeneratorResponse {
	var flags flag.FlagSet
	flags.SetOutput(io.Discard)
	msgs := flags.Bool("messages", messages, "also generate the messages, as protoc-gen-go does")
	compat := flags.Bool("grpc_compat", false, "name the client FooSkiffClient, apart from protoc-gen-go-grpc's FooClient")
	param := func(name, value string) error {
		if err := flags.Set(name, value); err != nil {
			return fmt.Errorf("protoc-gen-skiff: bad parameter %s=%s (want messages=true|false, grpc_compat=true|false, or a protoc-gen-go parameter)", name, value)
		}
		return nil
	}
	gen, err := gp.Options{ParamFunc: param}.New(req)
	if err != nil {
		return &pluginpb.CodeGeneratorResponse{Error: proto.String(err.Error())}
	}
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		if *msgs {
			gengo.GenerateFile(gen, f)
		}
		generateServices(gen, f, genOpts{grpcCompat: *compat})
	}
	gen.SupportedFeatures = gengo.SupportedFeatures
	gen.SupportedEditionsMinimum = gengo.SupportedEditionsMinimum
	gen.SupportedEditionsMaximum = gengo.SupportedEditionsMaximum
	return gen.Response()
}

// Version is the version of protoc-gen-skiff and of the generated service
// code's format.
const Version = "v0.2.0"
