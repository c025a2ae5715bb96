package server

import (
	"fmt"
	"sort"

	"github.com/skiffrpc/skiff/core/service"
)

// codecModules names the module that registers a codec, for error
// messages.
var codecModules = map[string]string{
	"thrift":   "github.com/skiffrpc/skiff/codec-thrift",
	"protobuf": "github.com/skiffrpc/skiff/codec-protobuf",
}

// checkReachable fails when a registered service could not be called at
// all: its non-streaming methods need its codec (service.Info.Codec) among
// the server's codecs, or a stream transport and a stream codec (gRPC
// carries unary calls too); its streaming methods need a stream transport
// and a stream codec. Codec and transport modules register themselves when
// imported, so a missing one is a forgotten import: better an error at
// Start than a bare EOF on every call.
func (s *Server) checkReachable() error {
	streams := len(s.streamProtocols()) > 0 && len(s.streamCodecs()) > 0
	have := map[string]bool{}
	for _, c := range s.codecs() {
		have[c.Name()] = true
	}
	for _, info := range s.services {
		var plain, streaming []string
		for name, mi := range info.Methods {
			if mi.StreamingMode&(service.StreamingClient|service.StreamingServer) != 0 {
				streaming = append(streaming, name)
			} else {
				plain = append(plain, name)
			}
		}
		sort.Strings(streaming)
		framed := info.Codec == "" && len(have) > 0 || have[info.Codec]
		if len(plain) > 0 && !framed && !streams {
			mod := codecModules[info.Codec]
			if mod == "" {
				mod = "the module that registers it"
			}
			return fmt.Errorf("server: service %s cannot be called: no codec %q is registered (import %s) and no stream transport and codec are (for gRPC, import github.com/skiffrpc/skiff/transport-http2 and github.com/skiffrpc/skiff/codec-grpc)",
				info.FullName(), info.Codec, mod)
		}
		if len(streaming) > 0 && !streams {
			return fmt.Errorf("server: service %s cannot serve its streaming method %s: no stream transport and codec are registered (for gRPC, import github.com/skiffrpc/skiff/transport-http2 and github.com/skiffrpc/skiff/codec-grpc)",
				info.FullName(), streaming[0])
		}
	}
	return nil
}
