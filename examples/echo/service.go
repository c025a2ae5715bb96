package echo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/thrift/lib/go/thrift"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/service"
)

// EchoService is the IDL service EchoService. Implementations must be safe
// for concurrent use.
type EchoService interface {
	// Echo returns the request fields unchanged.
	Echo(ctx context.Context, req *EchoRequest) (*EchoResponse, error)
	// Fail always throws EchoError{code: code, reason: "requested failure"}.
	// A returned *EchoError (or an error wrapping one) travels as the
	// declared exception; any other error as a TApplicationException.
	Fail(ctx context.Context, code int32) (*EchoResponse, error)
	// Notify is fire and forget: the caller gets no reply.
	Notify(ctx context.Context, message string) error
}

var (
	_ thriftcodec.FastCodec = (*EchoServiceEchoArgs)(nil)
	_ thrift.TStruct        = (*EchoServiceEchoArgs)(nil)
	_ thriftcodec.FastCodec = (*EchoServiceEchoResult)(nil)
	_ thrift.TStruct        = (*EchoServiceEchoResult)(nil)
	_ thriftcodec.FastCodec = (*EchoServiceFailArgs)(nil)
	_ thrift.TStruct        = (*EchoServiceFailArgs)(nil)
	_ thriftcodec.FastCodec = (*EchoServiceFailResult)(nil)
	_ thrift.TStruct        = (*EchoServiceFailResult)(nil)
	_ thriftcodec.FastCodec = (*EchoServiceNotifyArgs)(nil)
	_ thrift.TStruct        = (*EchoServiceNotifyArgs)(nil)

	_ service.ExceptionResult = (*EchoServiceFailResult)(nil)
)

// ServiceInfo returns a new descriptor of EchoService for a Skiff server or
// client: name "EchoService", codec "thrift", and the methods Echo, Fail and
// Notify (oneway). The handlers expect an impl that implements
// [EchoService].
func ServiceInfo() *service.Info {
	return &service.Info{
		Name:        "EchoService",
		HandlerType: (*EchoService)(nil),
		Codec:       "thrift",
		Methods: map[string]*service.MethodInfo{
			"Echo": {
				Name:      "Echo",
				Handler:   echoHandler,
				NewArgs:   newEchoServiceEchoArgs,
				NewResult: newEchoServiceEchoResult,
			},
			"Fail": {
				Name:      "Fail",
				Handler:   failHandler,
				NewArgs:   newEchoServiceFailArgs,
				NewResult: newEchoServiceFailResult,
			},
			"Notify": {
				Name:    "Notify",
				Handler: notifyHandler,
				NewArgs: newEchoServiceNotifyArgs,
				Oneway:  true,
			},
		},
		Extra: map[string]any{"PackageName": "echo"},
	}
}

// The argument and result wrappers are pooled: the server recycles them
// once the reply is written (service.Recycler), and the client stub once
// it has taken the result out. Only the wrappers are reused, never the
// request and response structs they point to.
var (
	echoArgsPool   = sync.Pool{New: func() any { return new(EchoServiceEchoArgs) }}
	echoResultPool = sync.Pool{New: func() any { return new(EchoServiceEchoResult) }}
	failArgsPool   = sync.Pool{New: func() any { return new(EchoServiceFailArgs) }}
	failResultPool = sync.Pool{New: func() any { return new(EchoServiceFailResult) }}
	notifyArgsPool = sync.Pool{New: func() any { return new(EchoServiceNotifyArgs) }}
)

func newEchoServiceEchoArgs() any   { return echoArgsPool.Get() }
func newEchoServiceEchoResult() any { return echoResultPool.Get() }
func newEchoServiceFailArgs() any   { return failArgsPool.Get() }
func newEchoServiceFailResult() any { return failResultPool.Get() }
func newEchoServiceNotifyArgs() any { return notifyArgsPool.Get() }

// Recycle resets p and returns it to its pool (service.Recycler).
func (p *EchoServiceEchoArgs) Recycle() { *p = EchoServiceEchoArgs{}; echoArgsPool.Put(p) }

// Recycle resets p and returns it to its pool (service.Recycler).
func (p *EchoServiceEchoResult) Recycle() { *p = EchoServiceEchoResult{}; echoResultPool.Put(p) }

// Recycle resets p and returns it to its pool (service.Recycler).
func (p *EchoServiceFailArgs) Recycle() { *p = EchoServiceFailArgs{}; failArgsPool.Put(p) }

// Recycle resets p and returns it to its pool (service.Recycler).
func (p *EchoServiceFailResult) Recycle() { *p = EchoServiceFailResult{}; failResultPool.Put(p) }

// DeclaredException returns the declared exception p holds, its Err, or nil
// when it holds none (service.ExceptionResult).
func (p *EchoServiceFailResult) DeclaredException() error {
	if p == nil || p.Err == nil {
		return nil // not the typed nil (*EchoError)(nil)
	}
	return p.Err
}

// Recycle resets p and returns it to its pool (service.Recycler).
func (p *EchoServiceNotifyArgs) Recycle() { *p = EchoServiceNotifyArgs{}; notifyArgsPool.Put(p) }

func echoHandler(ctx context.Context, impl any, args, result any) error {
	a := args.(*EchoServiceEchoArgs)
	r := result.(*EchoServiceEchoResult)
	success, err := impl.(EchoService).Echo(ctx, a.Req)
	if err != nil {
		return err
	}
	r.Success = success
	return nil
}

func failHandler(ctx context.Context, impl any, args, result any) error {
	a := args.(*EchoServiceFailArgs)
	r := result.(*EchoServiceFailResult)
	success, err := impl.(EchoService).Fail(ctx, a.Code)
	if err != nil {
		var e *EchoError
		if errors.As(err, &e) {
			r.Err = e
			return nil
		}
		return err
	}
	r.Success = success
	return nil
}

func notifyHandler(ctx context.Context, impl any, args, _ any) error {
	a := args.(*EchoServiceNotifyArgs)
	return impl.(EchoService).Notify(ctx, a.Message)
}

// Invoker sends one call; the runtime's client satisfies it. args is the
// method's *...Args; result is its *...Result, filled from the reply, or nil
// for a oneway method.
type Invoker interface {
	Call(ctx context.Context, method string, args, result any, opts ...client.CallOption) error
}

// Client is the typed EchoService client. It is safe for concurrent use if
// its Invoker is.
type Client struct {
	inv Invoker
}

// NewClient returns a client that sends its calls through inv.
func NewClient(inv Invoker) *Client { return &Client{inv: inv} }

// Echo calls EchoService.Echo.
func (c *Client) Echo(ctx context.Context, req *EchoRequest, opts ...client.CallOption) (*EchoResponse, error) {
	args := echoArgsPool.Get().(*EchoServiceEchoArgs)
	result := echoResultPool.Get().(*EchoServiceEchoResult)
	args.Req = req
	err := c.inv.Call(ctx, "Echo", args, result, opts...)
	success := result.Success
	args.Recycle()
	result.Recycle()
	if err != nil {
		return nil, err
	}
	if success == nil {
		return nil, thriftcodec.ApplicationError(thriftcodec.MissingResult, "Echo failed: unknown result")
	}
	return success, nil
}

// Fail calls EchoService.Fail. The declared exception comes back as a
// *EchoError error.
func (c *Client) Fail(ctx context.Context, code int32, opts ...client.CallOption) (*EchoResponse, error) {
	args := failArgsPool.Get().(*EchoServiceFailArgs)
	result := failResultPool.Get().(*EchoServiceFailResult)
	args.Code = code
	err := c.inv.Call(ctx, "Fail", args, result, opts...)
	success, declared := result.Success, result.Err
	args.Recycle()
	result.Recycle()
	switch {
	case err != nil:
		return nil, err
	case declared != nil:
		return nil, declared
	case success == nil:
		return nil, thriftcodec.ApplicationError(thriftcodec.MissingResult, "Fail failed: unknown result")
	}
	return success, nil
}

// Notify calls the oneway EchoService.Notify; it returns once the call is
// sent.
func (c *Client) Notify(ctx context.Context, message string, opts ...client.CallOption) error {
	args := notifyArgsPool.Get().(*EchoServiceNotifyArgs)
	args.Message = message
	err := c.inv.Call(ctx, "Notify", args, nil, opts...)
	args.Recycle()
	return err
}

// EchoServiceEchoArgs is the argument struct of Echo.
type EchoServiceEchoArgs struct {
	// Req is field 1.
	Req *EchoRequest `thrift:"req,1" json:"req"`
}

// FastSize returns the encoded size of p.
func (p *EchoServiceEchoArgs) FastSize() int {
	if p == nil {
		return thriftcodec.StopSize
	}
	return thriftcodec.FieldHeaderSize + p.Req.FastSize() + thriftcodec.StopSize
}

// FastAppend appends the encoding of p to b.
func (p *EchoServiceEchoArgs) FastAppend(b []byte) []byte {
	if p == nil {
		return thriftcodec.AppendFieldStop(b)
	}
	b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeStruct, 1)
	b = p.Req.FastAppend(b)
	return thriftcodec.AppendFieldStop(b)
}

// FastRead decodes p from the start of b and returns the bytes consumed.
func (p *EchoServiceEchoArgs) FastRead(b []byte) (int, error) {
	var off int
	for {
		t, id, n, err := thriftcodec.ReadFieldBegin(b[off:])
		if err != nil {
			return off, err
		}
		off += n
		if t == thriftcodec.TypeStop {
			return off, nil
		}
		switch {
		case id == 1 && t == thriftcodec.TypeStruct:
			p.Req = &EchoRequest{}
			n, err = p.Req.FastRead(b[off:])
		default:
			n, err = thriftcodec.Skip(b[off:], t, thriftcodec.MaxDepth)
		}
		if err != nil {
			return off, err
		}
		off += n
	}
}

// Write encodes p with an Apache Thrift protocol.
func (p *EchoServiceEchoArgs) Write(ctx context.Context, oprot thrift.TProtocol) error {
	if err := oprot.WriteStructBegin(ctx, "Echo_args"); err != nil {
		return err
	}
	if p != nil {
		if err := writeStructField(ctx, oprot, "req", 1, p.Req); err != nil {
			return err
		}
	}
	if err := oprot.WriteFieldStop(ctx); err != nil {
		return err
	}
	return oprot.WriteStructEnd(ctx)
}

// Read decodes p with an Apache Thrift protocol.
func (p *EchoServiceEchoArgs) Read(ctx context.Context, iprot thrift.TProtocol) error {
	return tReadStruct(ctx, iprot, "Echo_args", func(id int16, t thrift.TType) (bool, error) {
		if id == 1 && t == thrift.STRUCT {
			p.Req = &EchoRequest{}
			return true, p.Req.Read(ctx, iprot)
		}
		return false, nil
	})
}

// EchoServiceEchoResult is the result struct of Echo.
type EchoServiceEchoResult struct {
	// Success is field 0, the return value; nil when unset.
	Success *EchoResponse `thrift:"success,0,optional" json:"success,omitempty"`
}

// FastSize returns the encoded size of p.
func (p *EchoServiceEchoResult) FastSize() int {
	if p == nil {
		return thriftcodec.StopSize
	}
	n := thriftcodec.StopSize
	if p.Success != nil {
		n += thriftcodec.FieldHeaderSize + p.Success.FastSize()
	}
	return n
}

// FastAppend appends the encoding of p to b.
func (p *EchoServiceEchoResult) FastAppend(b []byte) []byte {
	if p == nil {
		return thriftcodec.AppendFieldStop(b)
	}
	if p.Success != nil {
		b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeStruct, 0)
		b = p.Success.FastAppend(b)
	}
	return thriftcodec.AppendFieldStop(b)
}

// FastRead decodes p from the start of b and returns the bytes consumed.
func (p *EchoServiceEchoResult) FastRead(b []byte) (int, error) {
	var off int
	for {
		t, id, n, err := thriftcodec.ReadFieldBegin(b[off:])
		if err != nil {
			return off, err
		}
		off += n
		if t == thriftcodec.TypeStop {
			return off, nil
		}
		switch {
		case id == 0 && t == thriftcodec.TypeStruct:
			p.Success = &EchoResponse{}
			n, err = p.Success.FastRead(b[off:])
		default:
			n, err = thriftcodec.Skip(b[off:], t, thriftcodec.MaxDepth)
		}
		if err != nil {
			return off, err
		}
		off += n
	}
}

// Write encodes p with an Apache Thrift protocol.
func (p *EchoServiceEchoResult) Write(ctx context.Context, oprot thrift.TProtocol) error {
	if err := oprot.WriteStructBegin(ctx, "Echo_result"); err != nil {
		return err
	}
	if p != nil && p.Success != nil {
		if err := writeStructField(ctx, oprot, "success", 0, p.Success); err != nil {
			return err
		}
	}
	if err := oprot.WriteFieldStop(ctx); err != nil {
		return err
	}
	return oprot.WriteStructEnd(ctx)
}

// Read decodes p with an Apache Thrift protocol.
func (p *EchoServiceEchoResult) Read(ctx context.Context, iprot thrift.TProtocol) error {
	return tReadStruct(ctx, iprot, "Echo_result", func(id int16, t thrift.TType) (bool, error) {
		if id == 0 && t == thrift.STRUCT {
			p.Success = &EchoResponse{}
			return true, p.Success.Read(ctx, iprot)
		}
		return false, nil
	})
}

// EchoServiceFailArgs is the argument struct of Fail.
type EchoServiceFailArgs struct {
	// Code is field 1.
	Code int32 `thrift:"code,1" json:"code"`
}

// FastSize returns the encoded size of p.
func (p *EchoServiceFailArgs) FastSize() int {
	if p == nil {
		return thriftcodec.StopSize
	}
	return thriftcodec.FieldHeaderSize + 4 + thriftcodec.StopSize
}

// FastAppend appends the encoding of p to b.
func (p *EchoServiceFailArgs) FastAppend(b []byte) []byte {
	if p == nil {
		return thriftcodec.AppendFieldStop(b)
	}
	b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeI32, 1)
	b = thriftcodec.AppendI32(b, p.Code)
	return thriftcodec.AppendFieldStop(b)
}

// FastRead decodes p from the start of b and returns the bytes consumed.
func (p *EchoServiceFailArgs) FastRead(b []byte) (int, error) {
	var off int
	for {
		t, id, n, err := thriftcodec.ReadFieldBegin(b[off:])
		if err != nil {
			return off, err
		}
		off += n
		if t == thriftcodec.TypeStop {
			return off, nil
		}
		switch {
		case id == 1 && t == thriftcodec.TypeI32:
			p.Code, n, err = thriftcodec.ReadI32(b[off:])
		default:
			n, err = thriftcodec.Skip(b[off:], t, thriftcodec.MaxDepth)
		}
		if err != nil {
			return off, err
		}
		off += n
	}
}

// Write encodes p with an Apache Thrift protocol.
func (p *EchoServiceFailArgs) Write(ctx context.Context, oprot thrift.TProtocol) error {
	if err := oprot.WriteStructBegin(ctx, "Fail_args"); err != nil {
		return err
	}
	if p != nil {
		if err := writeI32Field(ctx, oprot, "code", 1, p.Code); err != nil {
			return err
		}
	}
	if err := oprot.WriteFieldStop(ctx); err != nil {
		return err
	}
	return oprot.WriteStructEnd(ctx)
}

// Read decodes p with an Apache Thrift protocol.
func (p *EchoServiceFailArgs) Read(ctx context.Context, iprot thrift.TProtocol) error {
	return tReadStruct(ctx, iprot, "Fail_args", func(id int16, t thrift.TType) (bool, error) {
		if id == 1 && t == thrift.I32 {
			var err error
			p.Code, err = iprot.ReadI32(ctx)
			return true, err
		}
		return false, nil
	})
}

// EchoServiceFailResult is the result struct of Fail.
type EchoServiceFailResult struct {
	// Success is field 0, the return value; nil when unset.
	Success *EchoResponse `thrift:"success,0,optional" json:"success,omitempty"`
	// Err is field 1, the declared exception; nil when unset.
	Err *EchoError `thrift:"err,1,optional" json:"err,omitempty"`
}

// FastSize returns the encoded size of p.
func (p *EchoServiceFailResult) FastSize() int {
	if p == nil {
		return thriftcodec.StopSize
	}
	n := thriftcodec.StopSize
	if p.Success != nil {
		n += thriftcodec.FieldHeaderSize + p.Success.FastSize()
	}
	if p.Err != nil {
		n += thriftcodec.FieldHeaderSize + p.Err.FastSize()
	}
	return n
}

// FastAppend appends the encoding of p to b.
func (p *EchoServiceFailResult) FastAppend(b []byte) []byte {
	if p == nil {
		return thriftcodec.AppendFieldStop(b)
	}
	if p.Success != nil {
		b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeStruct, 0)
		b = p.Success.FastAppend(b)
	}
	if p.Err != nil {
		b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeStruct, 1)
		b = p.Err.FastAppend(b)
	}
	return thriftcodec.AppendFieldStop(b)
}

// FastRead decodes p from the start of b and returns the bytes consumed.
func (p *EchoServiceFailResult) FastRead(b []byte) (int, error) {
	var off int
	for {
		t, id, n, err := thriftcodec.ReadFieldBegin(b[off:])
		if err != nil {
			return off, err
		}
		off += n
		if t == thriftcodec.TypeStop {
			return off, nil
		}
		switch {
		case id == 0 && t == thriftcodec.TypeStruct:
			p.Success = &EchoResponse{}
			n, err = p.Success.FastRead(b[off:])
		case id == 1 && t == thriftcodec.TypeStruct:
			p.Err = &EchoError{}
			n, err = p.Err.FastRead(b[off:])
		default:
			n, err = thriftcodec.Skip(b[off:], t, thriftcodec.MaxDepth)
		}
		if err != nil {
			return off, err
		}
		off += n
	}
}

// Write encodes p with an Apache Thrift protocol.
func (p *EchoServiceFailResult) Write(ctx context.Context, oprot thrift.TProtocol) error {
	if err := oprot.WriteStructBegin(ctx, "Fail_result"); err != nil {
		return err
	}
	if p != nil {
		if p.Success != nil {
			if err := writeStructField(ctx, oprot, "success", 0, p.Success); err != nil {
				return err
			}
		}
		if p.Err != nil {
			if err := writeStructField(ctx, oprot, "err", 1, p.Err); err != nil {
				return err
			}
		}
	}
	if err := oprot.WriteFieldStop(ctx); err != nil {
		return err
	}
	return oprot.WriteStructEnd(ctx)
}

// Read decodes p with an Apache Thrift protocol.
func (p *EchoServiceFailResult) Read(ctx context.Context, iprot thrift.TProtocol) error {
	return tReadStruct(ctx, iprot, "Fail_result", func(id int16, t thrift.TType) (bool, error) {
		switch {
		case id == 0 && t == thrift.STRUCT:
			p.Success = &EchoResponse{}
			return true, p.Success.Read(ctx, iprot)
		case id == 1 && t == thrift.STRUCT:
			p.Err = &EchoError{}
			return true, p.Err.Read(ctx, iprot)
		}
		return false, nil
	})
}

// EchoServiceNotifyArgs is the argument struct of Notify.
type EchoServiceNotifyArgs struct {
	// Message is field 1.
	Message string `thrift:"message,1" json:"message"`
}

// FastSize returns the encoded size of p.
func (p *EchoServiceNotifyArgs) FastSize() int {
	if p == nil {
		return thriftcodec.StopSize
	}
	return thriftcodec.FieldHeaderSize + thriftcodec.StringSize(p.Message) + thriftcodec.StopSize
}

// FastAppend appends the encoding of p to b.
func (p *EchoServiceNotifyArgs) FastAppend(b []byte) []byte {
	if p == nil {
		return thriftcodec.AppendFieldStop(b)
	}
	b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeString, 1)
	b = thriftcodec.AppendString(b, p.Message)
	return thriftcodec.AppendFieldStop(b)
}

// FastRead decodes p from the start of b and returns the bytes consumed.
func (p *EchoServiceNotifyArgs) FastRead(b []byte) (int, error) {
	var off int
	for {
		t, id, n, err := thriftcodec.ReadFieldBegin(b[off:])
		if err != nil {
			return off, err
		}
		off += n
		if t == thriftcodec.TypeStop {
			return off, nil
		}
		switch {
		case id == 1 && t == thriftcodec.TypeString:
			p.Message, n, err = thriftcodec.ReadString(b[off:])
		default:
			n, err = thriftcodec.Skip(b[off:], t, thriftcodec.MaxDepth)
		}
		if err != nil {
			return off, err
		}
		off += n
	}
}

// Write encodes p with an Apache Thrift protocol.
func (p *EchoServiceNotifyArgs) Write(ctx context.Context, oprot thrift.TProtocol) error {
	if err := oprot.WriteStructBegin(ctx, "Notify_args"); err != nil {
		return err
	}
	if p != nil {
		if err := writeStringField(ctx, oprot, "message", 1, p.Message); err != nil {
			return err
		}
	}
	if err := oprot.WriteFieldStop(ctx); err != nil {
		return err
	}
	return oprot.WriteStructEnd(ctx)
}

// Read decodes p with an Apache Thrift protocol.
func (p *EchoServiceNotifyArgs) Read(ctx context.Context, iprot thrift.TProtocol) error {
	return tReadStruct(ctx, iprot, "Notify_args", func(id int16, t thrift.TType) (bool, error) {
		if id == 1 && t == thrift.STRING {
			var err error
			p.Message, err = iprot.ReadString(ctx)
			return true, err
		}
		return false, nil
	})
}

// tReadStruct runs the field loop of a Read: field reads a known field and
// reports whether it knew it; unknown fields are skipped.
func tReadStruct(ctx context.Context, iprot thrift.TProtocol, name string, field func(id int16, t thrift.TType) (bool, error)) error {
	if _, err := iprot.ReadStructBegin(ctx); err != nil {
		return err
	}
	for {
		_, t, id, err := iprot.ReadFieldBegin(ctx)
		if err != nil {
			return err
		}
		if t == thrift.STOP {
			break
		}
		ok, err := field(id, t)
		if err == nil && !ok {
			err = thrift.SkipDefaultDepth(ctx, iprot, t)
		}
		if err != nil {
			return thrift.PrependError(fmt.Sprintf("echo.%s field %d: ", name, id), err)
		}
		if err := iprot.ReadFieldEnd(ctx); err != nil {
			return err
		}
	}
	return iprot.ReadStructEnd(ctx)
}
