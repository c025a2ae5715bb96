package server_test

import (
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/internal/toystream"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
)

// renamed is the toy codec under another name.
type renamed struct{ codec.Codec }

func (renamed) Name() string { return "other" }

// TestStartRefusesUnreachableService: a service whose codec no imported
// module registers, served without streams, fails Start (before
// listening) with an error naming the module to import; the same service
// starts once a stream transport and codec could carry it, or once its
// codec is given. A streaming method needs a stream transport and codec.
func TestStartRefusesUnreachableService(t *testing.T) {
	pb := toycodec.Service()
	pb.Name, pb.Package, pb.Codec = "Greeter", "hello", "protobuf"
	streamingToy := toycodec.Service()
	streamingToy.Methods["Chat"] = &service.MethodInfo{Name: "Chat", StreamingMode: service.StreamingBidi,
		Handler: pb.Methods["Echo"].Handler}

	cases := []struct {
		name string
		info *service.Info
		opts []server.Option
		want string // "" when Start must succeed
	}{
		{"codec not imported", pb, []server.Option{server.WithStreamProtocols()},
			`service hello.Greeter cannot be called: no codec "protobuf" is registered (import github.com/skiffrpc/skiff/codec-protobuf)`},
		{"codec not among WithCodecs", toycodec.Service(), []server.Option{server.WithStreamProtocols(), server.WithCodecs(renamed{toycodec.Codec})},
			`service Toy cannot be called: no codec "toy" is registered`},
		{"codec imported", toycodec.Service(), []server.Option{server.WithStreamProtocols()}, ""},
		{"served on streams", pb, []server.Option{server.WithStreamProtocols(toystream.Protocol), server.WithStreamCodecs(toystream.Codec)}, ""},
		{"streaming without streams", streamingToy, []server.Option{server.WithStreamProtocols()},
			"service Toy cannot serve its streaming method Chat: no stream transport and codec are registered"},
		{"streaming with streams", streamingToy, []server.Option{server.WithStreamProtocols(toystream.Protocol), server.WithStreamCodecs(toystream.Codec)}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, c.opts...)
			svr := server.New(opts...)
			if err := svr.RegisterService(c.info, toycodec.Handler(echo)); err != nil {
				t.Fatal(err)
			}
			err := svr.Start()
			if err == nil {
				defer svr.Stop()
			}
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Start: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("Start: %v, want an error containing %q", err, c.want)
			case c.want != "" && svr.Addr() != nil:
				t.Errorf("Start failed but listens on %v", svr.Addr())
			}
		})
	}
}
