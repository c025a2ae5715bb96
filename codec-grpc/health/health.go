package health

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// ServingStatus is HealthCheckResponse.ServingStatus.
type ServingStatus int32

// Serving statuses, numbered as in health.proto.
const (
	Unknown        ServingStatus = 0
	Serving        ServingStatus = 1
	NotServing     ServingStatus = 2
	ServiceUnknown ServingStatus = 3 // Watch only
)

// String returns the status name as in health.proto, such as "SERVING".
func (s ServingStatus) String() string {
	switch s {
	case Unknown:
		return "UNKNOWN"
	case Serving:
		return "SERVING"
	case NotServing:
		return "NOT_SERVING"
	case ServiceUnknown:
		return "SERVICE_UNKNOWN"
	}
	return "ServingStatus(" + strconv.Itoa(int(s)) + ")"
}

// CheckRequest is grpc.health.v1.HealthCheckRequest.
type CheckRequest struct {
	// Service is the service name to check; "" is the whole server.
	Service string
}

// CheckResponse is grpc.health.v1.HealthCheckResponse.
type CheckResponse struct {
	// Status is the serving status.
	Status ServingStatus
}

var (
	_ grpccodec.Marshaler   = (*CheckRequest)(nil)
	_ grpccodec.Unmarshaler = (*CheckRequest)(nil)
	_ grpccodec.Marshaler   = (*CheckResponse)(nil)
	_ grpccodec.Unmarshaler = (*CheckResponse)(nil)
)

// AppendGRPC appends the protobuf encoding of r (field 1, service).
func (r *CheckRequest) AppendGRPC(dst []byte) ([]byte, error) {
	if r.Service != "" {
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendString(dst, r.Service)
	}
	return dst, nil
}

// UnmarshalGRPC decodes r from its protobuf encoding; unknown fields are
// skipped.
func (r *CheckRequest) UnmarshalGRPC(b []byte) error {
	*r = CheckRequest{}
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		if num == 1 && typ == protowire.BytesType {
			r.Service = string(v)
		}
	})
}

// AppendGRPC appends the protobuf encoding of r (field 1, status).
func (r *CheckResponse) AppendGRPC(dst []byte) ([]byte, error) {
	if r.Status != 0 {
		dst = protowire.AppendTag(dst, 1, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(r.Status))
	}
	return dst, nil
}

// UnmarshalGRPC decodes r from its protobuf encoding.
func (r *CheckResponse) UnmarshalGRPC(b []byte) error {
	*r = CheckResponse{}
	return eachField(b, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) {
		if num == 1 && typ == protowire.VarintType {
			r.Status = ServingStatus(int32(x))
		}
	})
}

// eachField calls f for every field of a protobuf message: v for
// length-delimited fields, x for varints.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return status.Errorf(status.Internal, "health: bad message: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return status.Errorf(status.Internal, "health: bad message: %v", protowire.ParseError(n))
			}
			f(num, typ, v, 0)
			b = b[n:]
		case protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return status.Errorf(status.Internal, "health: bad message: %v", protowire.ParseError(n))
			}
			f(num, typ, nil, x)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return status.Errorf(status.Internal, "health: bad message: %v", protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}

// Server is the health service's state: a serving status per service
// name. It is safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	statuses map[string]ServingStatus
	watchers map[string]map[chan ServingStatus]struct{}
	shutdown bool
}

// NewServer returns a server that reports the whole server ("") as
// SERVING and knows no other service until SetServingStatus.
func NewServer() *Server {
	return &Server{
		statuses: map[string]ServingStatus{"": Serving},
		watchers: map[string]map[chan ServingStatus]struct{}{},
	}
}

// SetServingStatus sets the status of a service ("" for the whole server)
// and tells its watchers. After Shutdown it is ignored until Resume.
func (s *Server) SetServingStatus(svc string, st ServingStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return
	}
	s.setLocked(svc, st)
}

func (s *Server) setLocked(svc string, st ServingStatus) {
	s.statuses[svc] = st
	for ch := range s.watchers[svc] {
		select { // keep only the latest status
		case <-ch:
		default:
		}
		ch <- st
	}
}

// Shutdown sets every service NOT_SERVING, for a server about to stop,
// and ignores SetServingStatus until Resume.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = true
	for svc := range s.statuses {
		s.setLocked(svc, NotServing)
	}
}

// Drain implements server.Drainer: a Skiff server calls it first when it
// stops, and every service turns NOT_SERVING (as Shutdown).
func (s *Server) Drain() { s.Shutdown() }

// Resume sets every service SERVING and accepts SetServingStatus again.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = false
	for svc := range s.statuses {
		s.setLocked(svc, Serving)
	}
}

// Check returns the status of req.Service; NOT_FOUND for a service it
// does not know.
func (s *Server) Check(ctx context.Context, req *CheckRequest) (*CheckResponse, error) {
	s.mu.Lock()
	st, ok := s.statuses[req.Service]
	s.mu.Unlock()
	if !ok {
		return nil, status.Errorf(status.NotFound, "unknown service %q", req.Service)
	}
	return &CheckResponse{Status: st}, nil
}

// Watch sends the status of req.Service (SERVICE_UNKNOWN while the server
// does not know it) now and whenever it changes, until the client ends
// the call.
func (s *Server) Watch(req *CheckRequest, ss stream.ServerStream) error {
	ch := make(chan ServingStatus, 1)
	s.mu.Lock()
	st, ok := s.statuses[req.Service]
	if !ok {
		st = ServiceUnknown
	}
	ch <- st
	if s.watchers[req.Service] == nil {
		s.watchers[req.Service] = map[chan ServingStatus]struct{}{}
	}
	s.watchers[req.Service][ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers[req.Service], ch)
		if len(s.watchers[req.Service]) == 0 {
			delete(s.watchers, req.Service)
		}
		s.mu.Unlock()
	}()
	last := ServingStatus(-1)
	ctx := ss.Context()
	for {
		select {
		case st := <-ch:
			if st == last {
				continue
			}
			last = st
			if err := ss.SendMsg(&CheckResponse{Status: st}); err != nil {
				return err
			}
		case <-ctx.Done():
			return status.Wrap(status.ErrCanceled, "health: watch ended", ctx.Err())
		}
	}
}

// Service and method names.
const (
	ServiceName = "grpc.health.v1.Health"
	packageName = "grpc.health.v1"
)

// ServiceInfo returns the descriptor of grpc.health.v1.Health for a Skiff
// server or client: methods Check (unary) and Watch (server streaming).
// The handlers expect a *[Server] as the implementation.
func ServiceInfo() *service.Info {
	return &service.Info{
		Name:        "Health",
		Package:     packageName,
		HandlerType: (*Server)(nil),
		Codec:       "grpc",
		Methods: map[string]*service.MethodInfo{
			"Check": {
				Name: "Check",
				Handler: func(ctx context.Context, impl, args, result any) error {
					res, err := impl.(*Server).Check(ctx, args.(*CheckRequest))
					if err != nil {
						return err
					}
					*result.(*CheckResponse) = *res
					return nil
				},
				NewArgs:       func() any { return new(CheckRequest) },
				NewResult:     func() any { return new(CheckResponse) },
				StreamingMode: service.StreamingUnary,
			},
			"Watch": {
				Name: "Watch",
				Handler: func(ctx context.Context, impl, args, result any) error {
					ss := args.(stream.ServerStream)
					req := new(CheckRequest)
					if err := ss.RecvMsg(req); err != nil {
						if errors.Is(err, io.EOF) {
							// No request message: a cardinality violation, as grpc-go says.
							return status.New(status.Internal, "health: Watch needs one request message")
						}
						return err
					}
					return impl.(*Server).Watch(req, ss)
				},
				StreamingMode: service.StreamingServer,
			},
		},
	}
}
