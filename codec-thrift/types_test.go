package thriftcodec_test

// Test-local, hand-written structs for the Kitex capture IDL
// (testdata/echo.thrift). They write fields in the order Kitex's generated
// fast codec does (fixed-size fields first, then the others by id) and keep
// map entries in wire order, so that re-encoding a capture reproduces it
// byte for byte. Each type implements both thriftcodec.FastCodec and
// thrift.TStruct (in the same field order), so the two paths can be checked
// against each other.

import (
	"context"
	"fmt"

	"github.com/apache/thrift/lib/go/thrift"

	tc "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/status"
)

type kv struct{ K, V string }

// echoMsg is EchoRequest and EchoResponse (they have the same fields).
type echoMsg struct {
	Message string
	Seq     *int64
	Extra   []kv // nil: unset
	Blob    []byte
}

var (
	_ tc.FastCodec   = (*echoMsg)(nil)
	_ thrift.TStruct = (*echoMsg)(nil)
)

func (p *echoMsg) FastSize() int {
	if p == nil {
		return tc.StopSize
	}
	n := tc.FieldHeaderSize + tc.StringSize(p.Message) + tc.StopSize
	if p.Seq != nil {
		n += tc.FieldHeaderSize + 8
	}
	if p.Extra != nil {
		n += tc.FieldHeaderSize + tc.MapHeaderSize
		for _, e := range p.Extra {
			n += tc.StringSize(e.K) + tc.StringSize(e.V)
		}
	}
	if p.Blob != nil {
		n += tc.FieldHeaderSize + tc.BinarySize(p.Blob)
	}
	return n
}

func (p *echoMsg) FastAppend(b []byte) []byte {
	if p == nil {
		return tc.AppendFieldStop(b)
	}
	if p.Seq != nil {
		b = tc.AppendFieldBegin(b, tc.TypeI64, 2)
		b = tc.AppendI64(b, *p.Seq)
	}
	b = tc.AppendFieldBegin(b, tc.TypeString, 1)
	b = tc.AppendString(b, p.Message)
	if p.Extra != nil {
		b = tc.AppendFieldBegin(b, tc.TypeMap, 3)
		b = tc.AppendMapBegin(b, tc.TypeString, tc.TypeString, len(p.Extra))
		for _, e := range p.Extra {
			b = tc.AppendString(b, e.K)
			b = tc.AppendString(b, e.V)
		}
	}
	if p.Blob != nil {
		b = tc.AppendFieldBegin(b, tc.TypeString, 4)
		b = tc.AppendBinary(b, p.Blob)
	}
	return tc.AppendFieldStop(b)
}

func (p *echoMsg) FastRead(b []byte) (int, error) {
	var off int
	var isSetMessage bool
	for {
		t, id, n, err := tc.ReadFieldBegin(b[off:])
		if err != nil {
			return off, err
		}
		off += n
		if t == tc.TypeStop {
			break
		}
		switch {
		case id == 1 && t == tc.TypeString:
			p.Message, n, err = tc.ReadString(b[off:])
			isSetMessage = true
		case id == 2 && t == tc.TypeI64:
			var v int64
			v, n, err = tc.ReadI64(b[off:])
			p.Seq = &v
		case id == 3 && t == tc.TypeMap:
			var kt, vt byte
			var size int
			kt, vt, size, n, err = tc.ReadMapBegin(b[off:])
			if err != nil {
				return off, err
			}
			if size > 0 && (kt != tc.TypeString || vt != tc.TypeString) {
				n, err = tc.Skip(b[off:], t, tc.MaxDepth)
				break
			}
			p.Extra = make([]kv, 0, size)
			for range size {
				var k, v string
				var m int
				if k, m, err = tc.ReadString(b[off+n:]); err != nil {
					return off, err
				}
				n += m
				if v, m, err = tc.ReadString(b[off+n:]); err != nil {
					return off, err
				}
				n += m
				p.Extra = append(p.Extra, kv{k, v})
			}
		case id == 4 && t == tc.TypeString:
			p.Blob, n, err = tc.ReadBinary(b[off:])
		default:
			n, err = tc.Skip(b[off:], t, tc.MaxDepth)
		}
		if err != nil {
			return off, err
		}
		off += n
	}
	if !isSetMessage {
		return off, status.Protocolf("required field message is not set")
	}
	return off, nil
}

func (p *echoMsg) Write(ctx context.Context, o thrift.TProtocol) error {
	if err := o.WriteStructBegin(ctx, "EchoRequest"); err != nil {
		return err
	}
	if p != nil {
		if p.Seq != nil {
			check(o.WriteFieldBegin(ctx, "seq", thrift.I64, 2))
			check(o.WriteI64(ctx, *p.Seq))
			check(o.WriteFieldEnd(ctx))
		}
		check(o.WriteFieldBegin(ctx, "message", thrift.STRING, 1))
		check(o.WriteString(ctx, p.Message))
		check(o.WriteFieldEnd(ctx))
		if p.Extra != nil {
			check(o.WriteFieldBegin(ctx, "extra", thrift.MAP, 3))
			check(o.WriteMapBegin(ctx, thrift.STRING, thrift.STRING, len(p.Extra)))
			for _, e := range p.Extra {
				check(o.WriteString(ctx, e.K))
				check(o.WriteString(ctx, e.V))
			}
			check(o.WriteMapEnd(ctx))
			check(o.WriteFieldEnd(ctx))
		}
		if p.Blob != nil {
			check(o.WriteFieldBegin(ctx, "blob", thrift.STRING, 4))
			check(o.WriteBinary(ctx, p.Blob))
			check(o.WriteFieldEnd(ctx))
		}
	}
	check(o.WriteFieldStop(ctx))
	return o.WriteStructEnd(ctx)
}

func (p *echoMsg) Read(ctx context.Context, in thrift.TProtocol) error {
	if _, err := in.ReadStructBegin(ctx); err != nil {
		return err
	}
	var isSetMessage bool
	for {
		_, t, id, err := in.ReadFieldBegin(ctx)
		if err != nil {
			return err
		}
		if t == thrift.STOP {
			break
		}
		switch {
		case id == 1 && t == thrift.STRING:
			if p.Message, err = in.ReadString(ctx); err != nil {
				return err
			}
			isSetMessage = true
		case id == 2 && t == thrift.I64:
			v, err := in.ReadI64(ctx)
			if err != nil {
				return err
			}
			p.Seq = &v
		case id == 3 && t == thrift.MAP:
			_, _, size, err := in.ReadMapBegin(ctx)
			if err != nil {
				return err
			}
			p.Extra = make([]kv, 0, size)
			for range size {
				k, err := in.ReadString(ctx)
				if err != nil {
					return err
				}
				v, err := in.ReadString(ctx)
				if err != nil {
					return err
				}
				p.Extra = append(p.Extra, kv{k, v})
			}
			if err := in.ReadMapEnd(ctx); err != nil {
				return err
			}
		case id == 4 && t == thrift.STRING:
			if p.Blob, err = in.ReadBinary(ctx); err != nil {
				return err
			}
			if p.Blob == nil {
				p.Blob = []byte{}
			}
		default:
			if err := thrift.SkipDefaultDepth(ctx, in, t); err != nil {
				return err
			}
		}
		if err := in.ReadFieldEnd(ctx); err != nil {
			return err
		}
	}
	if !isSetMessage {
		return fmt.Errorf("required field message is not set")
	}
	return in.ReadStructEnd(ctx)
}

// echoError is EchoError.
type echoError struct {
	Code   int32
	Reason string
}

func (p *echoError) FastSize() int {
	if p == nil {
		return tc.StopSize
	}
	return tc.FieldHeaderSize + 4 + tc.FieldHeaderSize + tc.StringSize(p.Reason) + tc.StopSize
}

func (p *echoError) FastAppend(b []byte) []byte {
	if p == nil {
		return tc.AppendFieldStop(b)
	}
	b = tc.AppendFieldBegin(b, tc.TypeI32, 1)
	b = tc.AppendI32(b, p.Code)
	b = tc.AppendFieldBegin(b, tc.TypeString, 2)
	b = tc.AppendString(b, p.Reason)
	return tc.AppendFieldStop(b)
}

func (p *echoError) FastRead(b []byte) (int, error) {
	var off int
	for {
		t, id, n, err := tc.ReadFieldBegin(b[off:])
		if err != nil {
			return off, err
		}
		off += n
		if t == tc.TypeStop {
			return off, nil
		}
		switch {
		case id == 1 && t == tc.TypeI32:
			p.Code, n, err = tc.ReadI32(b[off:])
		case id == 2 && t == tc.TypeString:
			p.Reason, n, err = tc.ReadString(b[off:])
		default:
			n, err = tc.Skip(b[off:], t, tc.MaxDepth)
		}
		if err != nil {
			return off, err
		}
		off += n
	}
}

func (p *echoError) Write(ctx context.Context, o thrift.TProtocol) error {
	check(o.WriteStructBegin(ctx, "EchoError"))
	if p != nil {
		check(o.WriteFieldBegin(ctx, "code", thrift.I32, 1))
		check(o.WriteI32(ctx, p.Code))
		check(o.WriteFieldEnd(ctx))
		check(o.WriteFieldBegin(ctx, "reason", thrift.STRING, 2))
		check(o.WriteString(ctx, p.Reason))
		check(o.WriteFieldEnd(ctx))
	}
	check(o.WriteFieldStop(ctx))
	return o.WriteStructEnd(ctx)
}

func (p *echoError) Read(ctx context.Context, in thrift.TProtocol) error {
	return readFields(ctx, in, func(id int16, t thrift.TType) (bool, error) {
		var err error
		switch {
		case id == 1 && t == thrift.I32:
			p.Code, err = in.ReadI32(ctx)
		case id == 2 && t == thrift.STRING:
			p.Reason, err = in.ReadString(ctx)
		default:
			return false, nil
		}
		return true, err
	})
}

// wrapper is any of the args and result structs of the capture IDL: an
// optional *echoMsg field, an optional *echoError field and an optional i32
// field, each at its own id (-1 when the struct has no such field).
type wrapper struct {
	msgID  int16    // id of the *echoMsg field
	msg    *echoMsg // the *echoMsg field
	errID  int16    // id of the *echoError field, -1 if none
	err    *echoError
	i32ID  int16 // id of the i32 field, -1 if none
	i32    int32
	hasI32 bool
}

func echoArgs(req *echoMsg) *wrapper { return &wrapper{msgID: 1, msg: req, errID: -1, i32ID: -1} }
func echoResult() *wrapper           { return &wrapper{msgID: 0, errID: -1, i32ID: -1} }
func failArgs(code int32) *wrapper {
	return &wrapper{msgID: -1, errID: -1, i32ID: 1, i32: code, hasI32: true}
}
func failResult() *wrapper { return &wrapper{msgID: 0, errID: 1, i32ID: -1} }

var (
	_ tc.FastCodec   = (*wrapper)(nil)
	_ thrift.TStruct = (*wrapper)(nil)
)

func (w *wrapper) FastSize() int {
	n := tc.StopSize
	if w.hasI32 {
		n += tc.FieldHeaderSize + 4
	}
	if w.msg != nil {
		n += tc.FieldHeaderSize + w.msg.FastSize()
	}
	if w.err != nil {
		n += tc.FieldHeaderSize + w.err.FastSize()
	}
	return n
}

func (w *wrapper) FastAppend(b []byte) []byte {
	if w.hasI32 {
		b = tc.AppendFieldBegin(b, tc.TypeI32, w.i32ID)
		b = tc.AppendI32(b, w.i32)
	}
	if w.msg != nil {
		b = tc.AppendFieldBegin(b, tc.TypeStruct, w.msgID)
		b = w.msg.FastAppend(b)
	}
	if w.err != nil {
		b = tc.AppendFieldBegin(b, tc.TypeStruct, w.errID)
		b = w.err.FastAppend(b)
	}
	return tc.AppendFieldStop(b)
}

func (w *wrapper) FastRead(b []byte) (int, error) {
	var off int
	for {
		t, id, n, err := tc.ReadFieldBegin(b[off:])
		if err != nil {
			return off, err
		}
		off += n
		if t == tc.TypeStop {
			return off, nil
		}
		switch {
		case id == w.msgID && t == tc.TypeStruct:
			w.msg = &echoMsg{}
			n, err = w.msg.FastRead(b[off:])
		case id == w.errID && t == tc.TypeStruct:
			w.err = &echoError{}
			n, err = w.err.FastRead(b[off:])
		case id == w.i32ID && t == tc.TypeI32:
			w.i32, n, err = tc.ReadI32(b[off:])
			w.hasI32 = true
		default:
			n, err = tc.Skip(b[off:], t, tc.MaxDepth)
		}
		if err != nil {
			return off, err
		}
		off += n
	}
}

func (w *wrapper) Write(ctx context.Context, o thrift.TProtocol) error {
	check(o.WriteStructBegin(ctx, "wrapper"))
	if w.hasI32 {
		check(o.WriteFieldBegin(ctx, "code", thrift.I32, w.i32ID))
		check(o.WriteI32(ctx, w.i32))
		check(o.WriteFieldEnd(ctx))
	}
	if w.msg != nil {
		check(o.WriteFieldBegin(ctx, "msg", thrift.STRUCT, w.msgID))
		check(w.msg.Write(ctx, o))
		check(o.WriteFieldEnd(ctx))
	}
	if w.err != nil {
		check(o.WriteFieldBegin(ctx, "err", thrift.STRUCT, w.errID))
		check(w.err.Write(ctx, o))
		check(o.WriteFieldEnd(ctx))
	}
	check(o.WriteFieldStop(ctx))
	return o.WriteStructEnd(ctx)
}

func (w *wrapper) Read(ctx context.Context, in thrift.TProtocol) error {
	return readFields(ctx, in, func(id int16, t thrift.TType) (bool, error) {
		switch {
		case id == w.msgID && t == thrift.STRUCT:
			w.msg = &echoMsg{}
			return true, w.msg.Read(ctx, in)
		case id == w.errID && t == thrift.STRUCT:
			w.err = &echoError{}
			return true, w.err.Read(ctx, in)
		case id == w.i32ID && t == thrift.I32:
			var err error
			w.i32, err = in.ReadI32(ctx)
			w.hasI32 = true
			return true, err
		}
		return false, nil
	})
}

// readFields runs the field loop of a TStruct Read; field reads the field
// and reports whether it knew it (unknown fields are skipped).
func readFields(ctx context.Context, in thrift.TProtocol, field func(id int16, t thrift.TType) (bool, error)) error {
	if _, err := in.ReadStructBegin(ctx); err != nil {
		return err
	}
	for {
		_, t, id, err := in.ReadFieldBegin(ctx)
		if err != nil {
			return err
		}
		if t == thrift.STOP {
			break
		}
		ok, err := field(id, t)
		if err != nil {
			return err
		}
		if !ok {
			if err := thrift.SkipDefaultDepth(ctx, in, t); err != nil {
				return err
			}
		}
		if err := in.ReadFieldEnd(ctx); err != nil {
			return err
		}
	}
	return in.ReadStructEnd(ctx)
}

// check panics on a write error: writes to a memory buffer cannot fail.
func check(err error) {
	if err != nil {
		panic(err)
	}
}

// slowOnly hides the fast path of a value, so the codec takes the
// thrift.TStruct path.
type slowOnly struct{ thrift.TStruct }

// payloadFor returns an empty payload for a message of the capture IDL.
func payloadFor(method string, reply bool) any {
	switch {
	case method == "Echo" && !reply:
		return echoArgs(nil)
	case method == "Echo" && reply:
		return echoResult()
	case method == "Fail" && !reply:
		return &wrapper{msgID: -1, errID: -1, i32ID: 1}
	case method == "Fail" && reply:
		return failResult()
	}
	return nil
}
