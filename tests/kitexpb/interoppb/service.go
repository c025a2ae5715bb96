package interoppb

// Skiff service code for the Interop service of interop.proto, written by
// hand in the shape the generator (tool/protogen) gives: argument and
// result wrappers implementing codec.Wrapper, a service descriptor with
// codec "protobuf", server handlers and a typed client.

import (
	"context"
	"sync"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
)

// Interop is the IDL service skiff.kitexpb.Interop. Implementations must be
// safe for concurrent use.
type Interop interface {
	// Echo returns the request in the response, with the server's name.
	Echo(ctx context.Context, req *EchoRequest) (*EchoResponse, error)
	// Ping takes and returns the empty message.
	Ping(ctx context.Context, req *Empty) (*Empty, error)
	// Fail always returns an error.
	Fail(ctx context.Context, req *FailRequest) (*Empty, error)
	// Missing is left out of the servers the tests run (unknown method).
	Missing(ctx context.Context, req *Empty) (*Empty, error)
}

// ServiceInfo returns a new descriptor of Interop: name "Interop", package
// "skiff.kitexpb", codec "protobuf", methods Echo, Ping, Fail and Missing.
// The handlers expect an impl that implements [Interop].
func ServiceInfo() *service.Info {
	return &service.Info{
		Name:        "Interop",
		Package:     "skiff.kitexpb",
		HandlerType: (*Interop)(nil),
		Codec:       "protobuf",
		Methods: map[string]*service.MethodInfo{
			"Echo":    {Name: "Echo", Handler: echoHandler, NewArgs: newEchoArgs, NewResult: newEchoResult},
			"Ping":    {Name: "Ping", Handler: pingHandler, NewArgs: newPingArgs, NewResult: newPingResult},
			"Fail":    {Name: "Fail", Handler: failHandler, NewArgs: newFailArgs, NewResult: newFailResult},
			"Missing": {Name: "Missing", Handler: missingHandler, NewArgs: newMissingArgs, NewResult: newMissingResult},
		},
		Extra: map[string]any{"PackageName": "skiff.kitexpb"},
	}
}

var (
	_ codec.Wrapper    = (*InteropEchoArgs)(nil)
	_ codec.Wrapper    = (*InteropEchoResult)(nil)
	_ service.Recycler = (*InteropEchoArgs)(nil)
	_ service.Recycler = (*InteropEchoResult)(nil)
)

// InteropEchoArgs is the argument wrapper of Echo.
type InteropEchoArgs struct{ Req *EchoRequest }

// Unwrap returns the request, allocating it when nil (codec.Wrapper).
func (p *InteropEchoArgs) Unwrap() any {
	if p.Req == nil {
		p.Req = new(EchoRequest)
	}
	return p.Req
}

// InteropEchoResult is the result wrapper of Echo.
type InteropEchoResult struct{ Success *EchoResponse }

// Unwrap returns the response, allocating it when nil (codec.Wrapper).
func (p *InteropEchoResult) Unwrap() any {
	if p.Success == nil {
		p.Success = new(EchoResponse)
	}
	return p.Success
}

// InteropPingArgs is the argument wrapper of Ping.
type InteropPingArgs struct{ Req *Empty }

// Unwrap returns the request, allocating it when nil (codec.Wrapper).
func (p *InteropPingArgs) Unwrap() any {
	if p.Req == nil {
		p.Req = new(Empty)
	}
	return p.Req
}

// InteropPingResult is the result wrapper of Ping.
type InteropPingResult struct{ Success *Empty }

// Unwrap returns the response, allocating it when nil (codec.Wrapper).
func (p *InteropPingResult) Unwrap() any {
	if p.Success == nil {
		p.Success = new(Empty)
	}
	return p.Success
}

// InteropFailArgs is the argument wrapper of Fail.
type InteropFailArgs struct{ Req *FailRequest }

// Unwrap returns the request, allocating it when nil (codec.Wrapper).
func (p *InteropFailArgs) Unwrap() any {
	if p.Req == nil {
		p.Req = new(FailRequest)
	}
	return p.Req
}

// InteropFailResult is the result wrapper of Fail.
type InteropFailResult struct{ Success *Empty }

// Unwrap returns the response, allocating it when nil (codec.Wrapper).
func (p *InteropFailResult) Unwrap() any {
	if p.Success == nil {
		p.Success = new(Empty)
	}
	return p.Success
}

// InteropMissingArgs is the argument wrapper of Missing.
type InteropMissingArgs struct{ Req *Empty }

// Unwrap returns the request, allocating it when nil (codec.Wrapper).
func (p *InteropMissingArgs) Unwrap() any {
	if p.Req == nil {
		p.Req = new(Empty)
	}
	return p.Req
}

// InteropMissingResult is the result wrapper of Missing.
type InteropMissingResult struct{ Success *Empty }

// Unwrap returns the response, allocating it when nil (codec.Wrapper).
func (p *InteropMissingResult) Unwrap() any {
	if p.Success == nil {
		p.Success = new(Empty)
	}
	return p.Success
}

// The Echo wrappers are pooled: the server recycles them once the reply is
// written, the client once it has taken the response out. Only the
// wrappers are reused, never the messages they point to.
var (
	echoArgsPool   = sync.Pool{New: func() any { return new(InteropEchoArgs) }}
	echoResultPool = sync.Pool{New: func() any { return new(InteropEchoResult) }}
)

func newEchoArgs() any      { return echoArgsPool.Get() }
func newEchoResult() any    { return echoResultPool.Get() }
func newPingArgs() any      { return new(InteropPingArgs) }
func newPingResult() any    { return new(InteropPingResult) }
func newFailArgs() any      { return new(InteropFailArgs) }
func newFailResult() any    { return new(InteropFailResult) }
func newMissingArgs() any   { return new(InteropMissingArgs) }
func newMissingResult() any { return new(InteropMissingResult) }

// Recycle resets p and returns it to its pool (service.Recycler).
func (p *InteropEchoArgs) Recycle() { p.Req = nil; echoArgsPool.Put(p) }

// Recycle resets p and returns it to its pool (service.Recycler).
func (p *InteropEchoResult) Recycle() { p.Success = nil; echoResultPool.Put(p) }

func echoHandler(ctx context.Context, impl any, args, result any) error {
	resp, err := impl.(Interop).Echo(ctx, args.(*InteropEchoArgs).Req)
	if err != nil {
		return err
	}
	result.(*InteropEchoResult).Success = resp
	return nil
}

func pingHandler(ctx context.Context, impl any, args, result any) error {
	resp, err := impl.(Interop).Ping(ctx, args.(*InteropPingArgs).Req)
	if err != nil {
		return err
	}
	result.(*InteropPingResult).Success = resp
	return nil
}

func failHandler(ctx context.Context, impl any, args, result any) error {
	resp, err := impl.(Interop).Fail(ctx, args.(*InteropFailArgs).Req)
	if err != nil {
		return err
	}
	result.(*InteropFailResult).Success = resp
	return nil
}

func missingHandler(ctx context.Context, impl any, args, result any) error {
	resp, err := impl.(Interop).Missing(ctx, args.(*InteropMissingArgs).Req)
	if err != nil {
		return err
	}
	result.(*InteropMissingResult).Success = resp
	return nil
}

// Invoker sends one call; the runtime's client satisfies it.
type Invoker interface {
	Call(ctx context.Context, method string, args, result any, opts ...client.CallOption) error
}

// Client is the typed Interop client. It is safe for concurrent use if its
// Invoker is.
type Client struct{ inv Invoker }

// NewClient returns a client that sends its calls through inv.
func NewClient(inv Invoker) *Client { return &Client{inv: inv} }

// missingResult is the error of a reply without a response message, which
// Kitex Protobuf cannot send (an empty reply decodes as an empty message).
func missingResult(method string) error {
	return status.Exception(status.TypeMissingResult, method+" failed: unknown result")
}

// Echo calls Interop.Echo.
func (c *Client) Echo(ctx context.Context, req *EchoRequest, opts ...client.CallOption) (*EchoResponse, error) {
	args := echoArgsPool.Get().(*InteropEchoArgs)
	result := echoResultPool.Get().(*InteropEchoResult)
	args.Req = req
	err := c.inv.Call(ctx, "Echo", args, result, opts...)
	resp := result.Success
	args.Recycle()
	result.Recycle()
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, missingResult("Echo")
	}
	return resp, nil
}

// Ping calls Interop.Ping.
func (c *Client) Ping(ctx context.Context, req *Empty, opts ...client.CallOption) (*Empty, error) {
	result := &InteropPingResult{}
	if err := c.inv.Call(ctx, "Ping", &InteropPingArgs{Req: req}, result, opts...); err != nil {
		return nil, err
	}
	if result.Success == nil {
		return nil, missingResult("Ping")
	}
	return result.Success, nil
}

// Fail calls Interop.Fail.
func (c *Client) Fail(ctx context.Context, req *FailRequest, opts ...client.CallOption) (*Empty, error) {
	result := &InteropFailResult{}
	if err := c.inv.Call(ctx, "Fail", &InteropFailArgs{Req: req}, result, opts...); err != nil {
		return nil, err
	}
	if result.Success == nil {
		return nil, missingResult("Fail")
	}
	return result.Success, nil
}

// Missing calls Interop.Missing.
func (c *Client) Missing(ctx context.Context, req *Empty, opts ...client.CallOption) (*Empty, error) {
	result := &InteropMissingResult{}
	if err := c.inv.Call(ctx, "Missing", &InteropMissingArgs{Req: req}, result, opts...); err != nil {
		return nil, err
	}
	if result.Success == nil {
		return nil, missingResult("Missing")
	}
	return result.Success, nil
}
