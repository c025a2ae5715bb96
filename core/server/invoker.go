package server

import (
	"context"
	"errors"

	"github.com/skiffrpc/skiff/core/internal/membuf"
	"github.com/skiffrpc/skiff/core/service"
)

// Invoker serves requests given as bytes, without a listener (SDK mode): a
// request goes through the same protocol sniffing, codec, routing,
// middleware and handler as on a connection, and the reply comes back as
// bytes. Use it to put Skiff handlers behind another transport, such as a
// message queue. An Invoker is safe for concurrent use.
type Invoker struct {
	s *Server
}

// NewInvoker returns an Invoker configured by opts; listener and engine
// options are ignored.
func NewInvoker(opts ...Option) *Invoker { return &Invoker{s: New(opts...)} }

// RegisterService adds a service, as Server.RegisterService does.
func (i *Invoker) RegisterService(info *service.Info, impl any) error {
	return i.s.RegisterService(info, impl)
}

// Call serves the request messages in req, which are whole wire messages
// with their framing (for example a Framed Thrift call), and returns the
// replies as they would be written to a connection: empty for a oneway
// call. An error means the request was malformed; resp then holds whatever
// exception reply could be written.
func (i *Invoker) Call(ctx context.Context, req []byte) (resp []byte, err error) {
	if len(req) == 0 {
		return nil, errors.New("server: Invoker.Call with an empty request")
	}
	st := &connState{Context: ctx}
	w := &membuf.Writer{}
	err = i.s.serve(st, membuf.NewReader(req), w)
	return w.Bytes(), err
}
