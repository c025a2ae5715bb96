package echo

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/thrift/lib/go/thrift"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core"
	"github.com/skiffrpc/skiff/core/status"
)

// This code requires a Skiff runtime that supports generated code version 1.
var _ = core.SupportsGeneratedVersion1

var (
	_ thriftcodec.FastCodec = (*EchoRequest)(nil)
	_ thrift.TStruct        = (*EchoRequest)(nil)
	_ thriftcodec.FastCodec = (*EchoResponse)(nil)
	_ thrift.TStruct        = (*EchoResponse)(nil)
	_ thriftcodec.FastCodec = (*EchoError)(nil)
	_ thrift.TStruct        = (*EchoError)(nil)
	_ error                 = (*EchoError)(nil)
)

// EchoRequest is the IDL struct EchoRequest.
type EchoRequest struct {
	// Message is field 1, required.
	Message string `thrift:"message,1,required" json:"message"`
	// Seq is field 2, optional: nil when unset.
	Seq *int64 `thrift:"seq,2,optional" json:"seq,omitempty"`
	// Extra is field 3, optional: nil when unset.
	Extra map[string]string `thrift:"extra,3,optional" json:"extra,omitempty"`
	// Blob is field 4, optional: nil when unset.
	Blob []byte `thrift:"blob,4,optional" json:"blob,omitempty"`
}

// NewEchoRequest returns an empty EchoRequest.
func NewEchoRequest() *EchoRequest { return &EchoRequest{} }

// GetMessage returns Message, or "" if p is nil.
func (p *EchoRequest) GetMessage() string {
	if p == nil {
		return ""
	}
	return p.Message
}

// GetSeq returns *Seq, or 0 if it is unset.
func (p *EchoRequest) GetSeq() int64 {
	if !p.IsSetSeq() {
		return 0
	}
	return *p.Seq
}

// GetExtra returns Extra, or nil if p is nil.
func (p *EchoRequest) GetExtra() map[string]string {
	if p == nil {
		return nil
	}
	return p.Extra
}

// GetBlob returns Blob, or nil if p is nil.
func (p *EchoRequest) GetBlob() []byte {
	if p == nil {
		return nil
	}
	return p.Blob
}

// IsSetSeq reports whether Seq is set.
func (p *EchoRequest) IsSetSeq() bool { return p != nil && p.Seq != nil }

// IsSetExtra reports whether Extra is set.
func (p *EchoRequest) IsSetExtra() bool { return p != nil && p.Extra != nil }

// IsSetBlob reports whether Blob is set.
func (p *EchoRequest) IsSetBlob() bool { return p != nil && p.Blob != nil }

// FastSize returns the encoded size of p.
func (p *EchoRequest) FastSize() int {
	if p == nil {
		return thriftcodec.StopSize
	}
	n := thriftcodec.FieldHeaderSize + thriftcodec.StringSize(p.Message)
	if p.Seq != nil {
		n += thriftcodec.FieldHeaderSize + 8
	}
	if p.Extra != nil {
		n += thriftcodec.FieldHeaderSize + thriftcodec.MapHeaderSize
		for k, v := range p.Extra {
			n += thriftcodec.StringSize(k) + thriftcodec.StringSize(v)
		}
	}
	if p.Blob != nil {
		n += thriftcodec.FieldHeaderSize + thriftcodec.BinarySize(p.Blob)
	}
	return n + thriftcodec.StopSize
}

// FastAppend appends the encoding of p to b.
func (p *EchoRequest) FastAppend(b []byte) []byte {
	if p == nil {
		return thriftcodec.AppendFieldStop(b)
	}
	b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeString, 1)
	b = thriftcodec.AppendString(b, p.Message)
	if p.Seq != nil {
		b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeI64, 2)
		b = thriftcodec.AppendI64(b, *p.Seq)
	}
	if p.Extra != nil {
		b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeMap, 3)
		b = thriftcodec.AppendMapBegin(b, thriftcodec.TypeString, thriftcodec.TypeString, len(p.Extra))
		for k, v := range p.Extra {
			b = thriftcodec.AppendString(b, k)
			b = thriftcodec.AppendString(b, v)
		}
	}
	if p.Blob != nil {
		b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeString, 4)
		b = thriftcodec.AppendBinary(b, p.Blob)
	}
	return thriftcodec.AppendFieldStop(b)
}

// FastRead decodes p from the start of b and returns the bytes consumed.
func (p *EchoRequest) FastRead(b []byte) (int, error) {
	var off int
	var isSetMessage bool
	for {
		t, id, n, err := thriftcodec.ReadFieldBegin(b[off:])
		if err != nil {
			return off, err
		}
		off += n
		if t == thriftcodec.TypeStop {
			break
		}
		switch {
		case id == 1 && t == thriftcodec.TypeString:
			p.Message, n, err = thriftcodec.ReadString(b[off:])
			isSetMessage = true
		case id == 2 && t == thriftcodec.TypeI64:
			var v int64
			v, n, err = thriftcodec.ReadI64(b[off:])
			p.Seq = &v
		case id == 3 && t == thriftcodec.TypeMap:
			p.Extra, n, err = readMapStringString(b[off:])
		case id == 4 && t == thriftcodec.TypeString:
			p.Blob, n, err = thriftcodec.ReadBinary(b[off:])
		default:
			n, err = thriftcodec.Skip(b[off:], t, thriftcodec.MaxDepth)
		}
		if err != nil {
			return off, err
		}
		off += n
	}
	if !isSetMessage {
		return off, status.Protocolf("echo.EchoRequest: required field message is not set")
	}
	return off, nil
}

// Write encodes p with an Apache Thrift protocol.
func (p *EchoRequest) Write(ctx context.Context, oprot thrift.TProtocol) error {
	if err := oprot.WriteStructBegin(ctx, "EchoRequest"); err != nil {
		return err
	}
	if p != nil {
		if err := writeStringField(ctx, oprot, "message", 1, p.Message); err != nil {
			return err
		}
		if p.Seq != nil {
			if err := writeI64Field(ctx, oprot, "seq", 2, *p.Seq); err != nil {
				return err
			}
		}
		if p.Extra != nil {
			if err := writeMapStringStringField(ctx, oprot, "extra", 3, p.Extra); err != nil {
				return err
			}
		}
		if p.Blob != nil {
			if err := writeBinaryField(ctx, oprot, "blob", 4, p.Blob); err != nil {
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
func (p *EchoRequest) Read(ctx context.Context, iprot thrift.TProtocol) error {
	if _, err := iprot.ReadStructBegin(ctx); err != nil {
		return err
	}
	var isSetMessage bool
	for {
		_, t, id, err := iprot.ReadFieldBegin(ctx)
		if err != nil {
			return err
		}
		if t == thrift.STOP {
			break
		}
		switch {
		case id == 1 && t == thrift.STRING:
			p.Message, err = iprot.ReadString(ctx)
			isSetMessage = true
		case id == 2 && t == thrift.I64:
			var v int64
			v, err = iprot.ReadI64(ctx)
			p.Seq = &v
		case id == 3 && t == thrift.MAP:
			p.Extra, err = tReadMapStringString(ctx, iprot)
		case id == 4 && t == thrift.STRING:
			p.Blob, err = tReadBinary(ctx, iprot)
		default:
			err = thrift.SkipDefaultDepth(ctx, iprot, t)
		}
		if err != nil {
			return thrift.PrependError(fmt.Sprintf("echo.EchoRequest field %d: ", id), err)
		}
		if err := iprot.ReadFieldEnd(ctx); err != nil {
			return err
		}
	}
	if err := iprot.ReadStructEnd(ctx); err != nil {
		return err
	}
	if !isSetMessage {
		return thrift.NewTProtocolExceptionWithType(thrift.INVALID_DATA, errors.New("echo.EchoRequest: required field message is not set"))
	}
	return nil
}

// EchoResponse is the IDL struct EchoResponse.
type EchoResponse struct {
	// Message is field 1, required.
	Message string `thrift:"message,1,required" json:"message"`
	// Seq is field 2, optional: nil when unset.
	Seq *int64 `thrift:"seq,2,optional" json:"seq,omitempty"`
	// Extra is field 3, optional: nil when unset.
	Extra map[string]string `thrift:"extra,3,optional" json:"extra,omitempty"`
	// Blob is field 4, optional: nil when unset.
	Blob []byte `thrift:"blob,4,optional" json:"blob,omitempty"`
}

// NewEchoResponse returns an empty EchoResponse.
func NewEchoResponse() *EchoResponse { return &EchoResponse{} }

// GetMessage returns Message, or "" if p is nil.
func (p *EchoResponse) GetMessage() string {
	if p == nil {
		return ""
	}
	return p.Message
}

// GetSeq returns *Seq, or 0 if it is unset.
func (p *EchoResponse) GetSeq() int64 {
	if !p.IsSetSeq() {
		return 0
	}
	return *p.Seq
}

// GetExtra returns Extra, or nil if p is nil.
func (p *EchoResponse) GetExtra() map[string]string {
	if p == nil {
		return nil
	}
	return p.Extra
}

// GetBlob returns Blob, or nil if p is nil.
func (p *EchoResponse) GetBlob() []byte {
	if p == nil {
		return nil
	}
	return p.Blob
}

// IsSetSeq reports whether Seq is set.
func (p *EchoResponse) IsSetSeq() bool { return p != nil && p.Seq != nil }

// IsSetExtra reports whether Extra is set.
func (p *EchoResponse) IsSetExtra() bool { return p != nil && p.Extra != nil }

// IsSetBlob reports whether Blob is set.
func (p *EchoResponse) IsSetBlob() bool { return p != nil && p.Blob != nil }

// FastSize returns the encoded size of p.
func (p *EchoResponse) FastSize() int {
	if p == nil {
		return thriftcodec.StopSize
	}
	n := thriftcodec.FieldHeaderSize + thriftcodec.StringSize(p.Message)
	if p.Seq != nil {
		n += thriftcodec.FieldHeaderSize + 8
	}
	if p.Extra != nil {
		n += thriftcodec.FieldHeaderSize + thriftcodec.MapHeaderSize
		for k, v := range p.Extra {
			n += thriftcodec.StringSize(k) + thriftcodec.StringSize(v)
		}
	}
	if p.Blob != nil {
		n += thriftcodec.FieldHeaderSize + thriftcodec.BinarySize(p.Blob)
	}
	return n + thriftcodec.StopSize
}

// FastAppend appends the encoding of p to b.
func (p *EchoResponse) FastAppend(b []byte) []byte {
	if p == nil {
		return thriftcodec.AppendFieldStop(b)
	}
	b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeString, 1)
	b = thriftcodec.AppendString(b, p.Message)
	if p.Seq != nil {
		b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeI64, 2)
		b = thriftcodec.AppendI64(b, *p.Seq)
	}
	if p.Extra != nil {
		b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeMap, 3)
		b = thriftcodec.AppendMapBegin(b, thriftcodec.TypeString, thriftcodec.TypeString, len(p.Extra))
		for k, v := range p.Extra {
			b = thriftcodec.AppendString(b, k)
			b = thriftcodec.AppendString(b, v)
		}
	}
	if p.Blob != nil {
		b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeString, 4)
		b = thriftcodec.AppendBinary(b, p.Blob)
	}
	return thriftcodec.AppendFieldStop(b)
}

// FastRead decodes p from the start of b and returns the bytes consumed.
func (p *EchoResponse) FastRead(b []byte) (int, error) {
	var off int
	var isSetMessage bool
	for {
		t, id, n, err := thriftcodec.ReadFieldBegin(b[off:])
		if err != nil {
			return off, err
		}
		off += n
		if t == thriftcodec.TypeStop {
			break
		}
		switch {
		case id == 1 && t == thriftcodec.TypeString:
			p.Message, n, err = thriftcodec.ReadString(b[off:])
			isSetMessage = true
		case id == 2 && t == thriftcodec.TypeI64:
			var v int64
			v, n, err = thriftcodec.ReadI64(b[off:])
			p.Seq = &v
		case id == 3 && t == thriftcodec.TypeMap:
			p.Extra, n, err = readMapStringString(b[off:])
		case id == 4 && t == thriftcodec.TypeString:
			p.Blob, n, err = thriftcodec.ReadBinary(b[off:])
		default:
			n, err = thriftcodec.Skip(b[off:], t, thriftcodec.MaxDepth)
		}
		if err != nil {
			return off, err
		}
		off += n
	}
	if !isSetMessage {
		return off, status.Protocolf("echo.EchoResponse: required field message is not set")
	}
	return off, nil
}

// Write encodes p with an Apache Thrift protocol.
func (p *EchoResponse) Write(ctx context.Context, oprot thrift.TProtocol) error {
	if err := oprot.WriteStructBegin(ctx, "EchoResponse"); err != nil {
		return err
	}
	if p != nil {
		if err := writeStringField(ctx, oprot, "message", 1, p.Message); err != nil {
			return err
		}
		if p.Seq != nil {
			if err := writeI64Field(ctx, oprot, "seq", 2, *p.Seq); err != nil {
				return err
			}
		}
		if p.Extra != nil {
			if err := writeMapStringStringField(ctx, oprot, "extra", 3, p.Extra); err != nil {
				return err
			}
		}
		if p.Blob != nil {
			if err := writeBinaryField(ctx, oprot, "blob", 4, p.Blob); err != nil {
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
func (p *EchoResponse) Read(ctx context.Context, iprot thrift.TProtocol) error {
	if _, err := iprot.ReadStructBegin(ctx); err != nil {
		return err
	}
	var isSetMessage bool
	for {
		_, t, id, err := iprot.ReadFieldBegin(ctx)
		if err != nil {
			return err
		}
		if t == thrift.STOP {
			break
		}
		switch {
		case id == 1 && t == thrift.STRING:
			p.Message, err = iprot.ReadString(ctx)
			isSetMessage = true
		case id == 2 && t == thrift.I64:
			var v int64
			v, err = iprot.ReadI64(ctx)
			p.Seq = &v
		case id == 3 && t == thrift.MAP:
			p.Extra, err = tReadMapStringString(ctx, iprot)
		case id == 4 && t == thrift.STRING:
			p.Blob, err = tReadBinary(ctx, iprot)
		default:
			err = thrift.SkipDefaultDepth(ctx, iprot, t)
		}
		if err != nil {
			return thrift.PrependError(fmt.Sprintf("echo.EchoResponse field %d: ", id), err)
		}
		if err := iprot.ReadFieldEnd(ctx); err != nil {
			return err
		}
	}
	if err := iprot.ReadStructEnd(ctx); err != nil {
		return err
	}
	if !isSetMessage {
		return thrift.NewTProtocolExceptionWithType(thrift.INVALID_DATA, errors.New("echo.EchoResponse: required field message is not set"))
	}
	return nil
}

// EchoError is the IDL exception EchoError.
type EchoError struct {
	// Code is field 1.
	Code int32 `thrift:"code,1" json:"code"`
	// Reason is field 2.
	Reason string `thrift:"reason,2" json:"reason"`
}

// NewEchoError returns an empty EchoError.
func NewEchoError() *EchoError { return &EchoError{} }

// GetCode returns Code, or 0 if p is nil.
func (p *EchoError) GetCode() int32 {
	if p == nil {
		return 0
	}
	return p.Code
}

// GetReason returns Reason, or "" if p is nil.
func (p *EchoError) GetReason() string {
	if p == nil {
		return ""
	}
	return p.Reason
}

// Error formats the exception as Apache Thrift does: EchoError({Code:7 Reason:...}).
func (p *EchoError) Error() string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("EchoError(%+v)", *p)
}

// TExceptionType marks EchoError as an IDL exception for Apache Thrift.
func (*EchoError) TExceptionType() thrift.TExceptionType { return thrift.TExceptionTypeCompiled }

// FastSize returns the encoded size of p.
func (p *EchoError) FastSize() int {
	if p == nil {
		return thriftcodec.StopSize
	}
	return thriftcodec.FieldHeaderSize + 4 +
		thriftcodec.FieldHeaderSize + thriftcodec.StringSize(p.Reason) +
		thriftcodec.StopSize
}

// FastAppend appends the encoding of p to b.
func (p *EchoError) FastAppend(b []byte) []byte {
	if p == nil {
		return thriftcodec.AppendFieldStop(b)
	}
	b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeI32, 1)
	b = thriftcodec.AppendI32(b, p.Code)
	b = thriftcodec.AppendFieldBegin(b, thriftcodec.TypeString, 2)
	b = thriftcodec.AppendString(b, p.Reason)
	return thriftcodec.AppendFieldStop(b)
}

// FastRead decodes p from the start of b and returns the bytes consumed.
func (p *EchoError) FastRead(b []byte) (int, error) {
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
		case id == 2 && t == thriftcodec.TypeString:
			p.Reason, n, err = thriftcodec.ReadString(b[off:])
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
func (p *EchoError) Write(ctx context.Context, oprot thrift.TProtocol) error {
	if err := oprot.WriteStructBegin(ctx, "EchoError"); err != nil {
		return err
	}
	if p != nil {
		if err := writeI32Field(ctx, oprot, "code", 1, p.Code); err != nil {
			return err
		}
		if err := writeStringField(ctx, oprot, "reason", 2, p.Reason); err != nil {
			return err
		}
	}
	if err := oprot.WriteFieldStop(ctx); err != nil {
		return err
	}
	return oprot.WriteStructEnd(ctx)
}

// Read decodes p with an Apache Thrift protocol.
func (p *EchoError) Read(ctx context.Context, iprot thrift.TProtocol) error {
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
		switch {
		case id == 1 && t == thrift.I32:
			p.Code, err = iprot.ReadI32(ctx)
		case id == 2 && t == thrift.STRING:
			p.Reason, err = iprot.ReadString(ctx)
		default:
			err = thrift.SkipDefaultDepth(ctx, iprot, t)
		}
		if err != nil {
			return thrift.PrependError(fmt.Sprintf("echo.EchoError field %d: ", id), err)
		}
		if err := iprot.ReadFieldEnd(ctx); err != nil {
			return err
		}
	}
	return iprot.ReadStructEnd(ctx)
}

// readMapStringString reads a map<string, string> for FastRead. A non-empty
// map of other key or value types is skipped and reads as nil, as a field of
// the wrong type is.
func readMapStringString(b []byte) (map[string]string, int, error) {
	kt, vt, size, off, err := thriftcodec.ReadMapBegin(b)
	if err != nil {
		return nil, 0, err
	}
	if size > 0 && (kt != thriftcodec.TypeString || vt != thriftcodec.TypeString) {
		n, err := thriftcodec.Skip(b, thriftcodec.TypeMap, thriftcodec.MaxDepth)
		return nil, n, err
	}
	m := make(map[string]string, size)
	for range size {
		k, n, err := thriftcodec.ReadString(b[off:])
		if err != nil {
			return nil, 0, err
		}
		off += n
		v, n, err := thriftcodec.ReadString(b[off:])
		if err != nil {
			return nil, 0, err
		}
		off += n
		m[k] = v
	}
	return m, off, nil
}

// tReadMapStringString reads a map<string, string> for Read, with the same
// rule for other key or value types as readMapStringString.
func tReadMapStringString(ctx context.Context, iprot thrift.TProtocol) (map[string]string, error) {
	kt, vt, size, err := iprot.ReadMapBegin(ctx)
	if err != nil {
		return nil, err
	}
	if size > 0 && (kt != thrift.STRING || vt != thrift.STRING) {
		for range size {
			if err := thrift.SkipDefaultDepth(ctx, iprot, kt); err != nil {
				return nil, err
			}
			if err := thrift.SkipDefaultDepth(ctx, iprot, vt); err != nil {
				return nil, err
			}
		}
		return nil, iprot.ReadMapEnd(ctx)
	}
	m := make(map[string]string, size)
	for range size {
		k, err := iprot.ReadString(ctx)
		if err != nil {
			return nil, err
		}
		v, err := iprot.ReadString(ctx)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, iprot.ReadMapEnd(ctx)
}

// tReadBinary reads a binary for Read. Unlike TBinaryProtocol.ReadBinary it
// returns an empty, non-nil slice for an empty binary, so an optional field
// read back stays set, as with FastRead.
func tReadBinary(ctx context.Context, iprot thrift.TProtocol) ([]byte, error) {
	v, err := iprot.ReadBinary(ctx)
	if err == nil && v == nil {
		v = []byte{}
	}
	return v, err
}

func writeI32Field(ctx context.Context, oprot thrift.TProtocol, name string, id int16, v int32) error {
	if err := oprot.WriteFieldBegin(ctx, name, thrift.I32, id); err != nil {
		return err
	}
	if err := oprot.WriteI32(ctx, v); err != nil {
		return err
	}
	return oprot.WriteFieldEnd(ctx)
}

func writeI64Field(ctx context.Context, oprot thrift.TProtocol, name string, id int16, v int64) error {
	if err := oprot.WriteFieldBegin(ctx, name, thrift.I64, id); err != nil {
		return err
	}
	if err := oprot.WriteI64(ctx, v); err != nil {
		return err
	}
	return oprot.WriteFieldEnd(ctx)
}

func writeStringField(ctx context.Context, oprot thrift.TProtocol, name string, id int16, v string) error {
	if err := oprot.WriteFieldBegin(ctx, name, thrift.STRING, id); err != nil {
		return err
	}
	if err := oprot.WriteString(ctx, v); err != nil {
		return err
	}
	return oprot.WriteFieldEnd(ctx)
}

func writeBinaryField(ctx context.Context, oprot thrift.TProtocol, name string, id int16, v []byte) error {
	if err := oprot.WriteFieldBegin(ctx, name, thrift.STRING, id); err != nil {
		return err
	}
	if err := oprot.WriteBinary(ctx, v); err != nil {
		return err
	}
	return oprot.WriteFieldEnd(ctx)
}

func writeMapStringStringField(ctx context.Context, oprot thrift.TProtocol, name string, id int16, m map[string]string) error {
	if err := oprot.WriteFieldBegin(ctx, name, thrift.MAP, id); err != nil {
		return err
	}
	if err := oprot.WriteMapBegin(ctx, thrift.STRING, thrift.STRING, len(m)); err != nil {
		return err
	}
	for k, v := range m {
		if err := oprot.WriteString(ctx, k); err != nil {
			return err
		}
		if err := oprot.WriteString(ctx, v); err != nil {
			return err
		}
	}
	if err := oprot.WriteMapEnd(ctx); err != nil {
		return err
	}
	return oprot.WriteFieldEnd(ctx)
}

func writeStructField(ctx context.Context, oprot thrift.TProtocol, name string, id int16, v thrift.TStruct) error {
	if err := oprot.WriteFieldBegin(ctx, name, thrift.STRUCT, id); err != nil {
		return err
	}
	if err := v.Write(ctx, oprot); err != nil {
		return err
	}
	return oprot.WriteFieldEnd(ctx)
}
