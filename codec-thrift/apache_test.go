package thriftcodec_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	tc "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// apache returns a strict TBinaryProtocol over a fresh memory buffer.
func apache() (*thrift.TBinaryProtocol, *thrift.TMemoryBuffer) {
	mem := thrift.NewTMemoryBuffer()
	strict := true
	return thrift.NewTBinaryProtocolConf(mem, &thrift.TConfiguration{TBinaryStrictRead: &strict, TBinaryStrictWrite: &strict}), mem
}

// apacheMessage encodes a whole message with Apache Thrift.
func apacheMessage(t *testing.T, name string, typ thrift.TMessageType, seq int32, body thrift.TStruct) []byte {
	t.Helper()
	ctx := context.Background()
	p, mem := apache()
	if err := p.WriteMessageBegin(ctx, name, typ, seq); err != nil {
		t.Fatal(err)
	}
	if err := body.Write(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteMessageEnd(ctx); err != nil {
		t.Fatal(err)
	}
	return mem.Bytes()
}

// encode encodes msg with Codec and checks Size; t may be nil outside a
// test (it panics then).
func encode(t testing.TB, msg *codec.Message) []byte {
	fail := func(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
	if t != nil {
		t.Helper()
		fail = t.Fatalf
	}
	n := tc.Codec.Size(msg)
	b, err := tc.Codec.Append(make([]byte, 0, max(n, 0)), msg)
	if err != nil {
		fail("Append: %v", err)
	}
	if n >= 0 && len(b) != n {
		fail("Size = %d, Append wrote %d bytes", n, len(b))
	}
	return b
}

// TestApacheHelpers compares every append helper with TBinaryProtocol and
// reads Apache's bytes back with the read helpers.
func TestApacheHelpers(t *testing.T) {
	ctx := context.Background()
	p, mem := apache()
	var b []byte
	check(p.WriteFieldBegin(ctx, "f", thrift.I32, -2))
	b = tc.AppendFieldBegin(b, tc.TypeI32, -2)
	check(p.WriteBool(ctx, true))
	b = tc.AppendBool(b, true)
	check(p.WriteBool(ctx, false))
	b = tc.AppendBool(b, false)
	check(p.WriteByte(ctx, -5))
	b = tc.AppendByte(b, -5)
	check(p.WriteI16(ctx, -300))
	b = tc.AppendI16(b, -300)
	check(p.WriteI32(ctx, math.MinInt32))
	b = tc.AppendI32(b, math.MinInt32)
	check(p.WriteI64(ctx, -1<<40))
	b = tc.AppendI64(b, -1<<40)
	check(p.WriteDouble(ctx, math.Pi))
	b = tc.AppendDouble(b, math.Pi)
	check(p.WriteString(ctx, "héllo"))
	b = tc.AppendString(b, "héllo")
	check(p.WriteBinary(ctx, []byte{0, 1, 2}))
	b = tc.AppendBinary(b, []byte{0, 1, 2})
	check(p.WriteMapBegin(ctx, thrift.STRING, thrift.I64, 0))
	b = tc.AppendMapBegin(b, tc.TypeString, tc.TypeI64, 0)
	check(p.WriteListBegin(ctx, thrift.STRUCT, 0))
	b = tc.AppendListBegin(b, tc.TypeStruct, 0)
	check(p.WriteSetBegin(ctx, thrift.I16, 0))
	b = tc.AppendSetBegin(b, tc.TypeI16, 0)
	check(p.WriteFieldStop(ctx))
	b = tc.AppendFieldStop(b)
	if !bytes.Equal(b, mem.Bytes()) {
		t.Fatalf("helpers wrote\n%x\nApache wrote\n%x", b, mem.Bytes())
	}

	// Read it back.
	off := 0
	step := func(n int, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		off += n
	}
	typ, id, n, err := tc.ReadFieldBegin(b)
	step(n, err)
	bt, n, err := tc.ReadBool(b[off:])
	step(n, err)
	bf, n, err := tc.ReadBool(b[off:])
	step(n, err)
	i8, n, err := tc.ReadByte(b[off:])
	step(n, err)
	i16, n, err := tc.ReadI16(b[off:])
	step(n, err)
	i32, n, err := tc.ReadI32(b[off:])
	step(n, err)
	i64, n, err := tc.ReadI64(b[off:])
	step(n, err)
	d, n, err := tc.ReadDouble(b[off:])
	step(n, err)
	s, n, err := tc.ReadString(b[off:])
	step(n, err)
	bin, n, err := tc.ReadBinary(b[off:])
	step(n, err)
	kt, vt, ms, n, err := tc.ReadMapBegin(b[off:])
	step(n, err)
	et, ls, n, err := tc.ReadListBegin(b[off:])
	step(n, err)
	st, ss, n, err := tc.ReadSetBegin(b[off:])
	step(n, err)
	stop, _, n, err := tc.ReadFieldBegin(b[off:])
	step(n, err)
	got := []any{typ, id, bt, bf, i8, i16, i32, i64, d, s, bin, kt, vt, ms, et, ls, st, ss, stop, off}
	want := []any{tc.TypeI32, int16(-2), true, false, int8(-5), int16(-300), int32(math.MinInt32), int64(-1 << 40),
		math.Pi, "héllo", []byte{0, 1, 2}, tc.TypeString, tc.TypeI64, 0, tc.TypeStruct, 0, tc.TypeI16, 0, tc.TypeStop, len(b)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n got %v\nwant %v", got, want)
	}
}

// TestApacheEnvelope compares whole messages with Apache Thrift's
// WriteMessageBegin, for every message type.
func TestApacheEnvelope(t *testing.T) {
	req := echoArgs(captureMsg)
	for _, typ := range []codec.MessageType{codec.Call, codec.Reply, codec.Oneway} {
		msg := &codec.Message{Type: typ, Method: "Echo", SeqID: -7, Payload: req}
		got := encode(t, msg)
		want := apacheMessage(t, "Echo", thrift.TMessageType(typ), -7, req)
		if !bytes.Equal(got, want) {
			t.Fatalf("%v:\n got %x\nwant %x", typ, got, want)
		}
		// Apache reads ours.
		p, mem := apache()
		mem.Write(got)
		name, mt, seq, err := p.ReadMessageBegin(context.Background())
		if err != nil || name != "Echo" || mt != thrift.TMessageType(typ) || seq != -7 {
			t.Fatalf("Apache read %q %v %d %v", name, mt, seq, err)
		}
	}
}

// TestFastMatchesTStruct encodes the same values through the fast path and
// the TStruct path (Apache's TBinaryProtocol), and decodes each encoding
// through both paths.
func TestFastMatchesTStruct(t *testing.T) {
	values := []*wrapper{
		echoArgs(captureMsg),
		echoArgs(&echoMsg{}),
		echoArgs(&echoMsg{Message: "x", Extra: []kv{}, Blob: []byte{}}),
		echoArgs(nil),
		{msgID: 0, errID: 1, i32ID: -1, err: captureErr},
		{msgID: 0, errID: 1, i32ID: -1, err: &echoError{}},
		failArgs(-1),
	}
	for i, v := range values {
		fast := encode(t, &codec.Message{Type: codec.Call, Method: "m", Payload: v})
		slow := encode(t, &codec.Message{Type: codec.Call, Method: "m", Payload: slowOnly{v}})
		if !bytes.Equal(fast, slow) {
			t.Fatalf("value %d: fast %x\n tstruct %x", i, fast, slow)
		}
		for _, path := range []string{"fast", "tstruct"} {
			msg := &codec.Message{}
			n, err := tc.Codec.DecodeEnvelope(fast, msg)
			if err != nil {
				t.Fatal(err)
			}
			got := &wrapper{msgID: v.msgID, errID: v.errID, i32ID: v.i32ID}
			msg.Payload = got
			if path == "tstruct" {
				msg.Payload = slowOnly{got}
			}
			if err := tc.Codec.DecodePayload(fast[n:], msg); err != nil {
				t.Fatalf("value %d %s: %v", i, path, err)
			}
			if !reflect.DeepEqual(got, v) {
				t.Fatalf("value %d %s: decoded %+v, want %+v", i, path, got, v)
			}
		}
	}
}

// TestApacheException checks the TApplicationException both ways against
// Apache Thrift's own implementation.
func TestApacheException(t *testing.T) {
	for _, typeID := range []int32{tc.UnknownApplicationException, tc.UnknownMethod, tc.InternalError, tc.ProtocolError, 99} {
		ex := thrift.NewTApplicationException(typeID, "boom")
		want := apacheMessage(t, "Echo", thrift.EXCEPTION, 3, ex)
		got := encode(t, &codec.Message{Type: codec.Exception, Method: "Echo", SeqID: 3, Err: tc.ApplicationError(typeID, "boom")})
		if !bytes.Equal(got, want) {
			t.Fatalf("type %d:\n got %x\nwant %x", typeID, got, want)
		}

		// Ours decodes Apache's.
		msg := &codec.Message{}
		n, err := tc.Codec.DecodeEnvelope(want, msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.Codec.DecodePayload(want[n:], msg); err != nil {
			t.Fatal(err)
		}
		if msg.Type != codec.Exception || msg.Err.TypeID() != typeID || msg.Err.Message() != "boom" ||
			msg.Err.Code() != tc.CodeForType(typeID) || !errors.Is(msg.Err, status.ErrRemote) {
			t.Fatalf("type %d: decoded %v (type %d)", typeID, msg.Err, msg.Err.TypeID())
		}

		// Apache decodes ours.
		p, mem := apache()
		mem.Write(got)
		if _, _, _, err := p.ReadMessageBegin(context.Background()); err != nil {
			t.Fatal(err)
		}
		back := thrift.NewTApplicationException(0, "")
		if err := back.Read(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if back.TypeId() != typeID || back.Error() != "boom" {
			t.Fatalf("Apache read type %d %q", back.TypeId(), back.Error())
		}
	}
}

// TestSkipMatchesApache skips the same values with Skip and with Apache's
// TProtocol Skip.
func TestSkipMatchesApache(t *testing.T) {
	b := encode(t, &codec.Message{Type: codec.Reply, Method: "Fail", Payload: &wrapper{msgID: 0, errID: 1, i32ID: -1, msg: captureMsg, err: captureErr}})
	n, err := tc.Codec.DecodeEnvelope(b, &codec.Message{})
	if err != nil {
		t.Fatal(err)
	}
	// A list of maps of lists, a set of doubles and a uuid, after the struct.
	b = tc.AppendListBegin(b, tc.TypeMap, 2)
	for range 2 {
		b = tc.AppendMapBegin(b, tc.TypeI32, tc.TypeList, 1)
		b = tc.AppendI32(b, 1)
		b = tc.AppendListBegin(b, tc.TypeString, 2)
		b = tc.AppendString(b, "a")
		b = tc.AppendString(b, "bc")
	}
	b = tc.AppendSetBegin(b, tc.TypeDouble, 3)
	for range 3 {
		b = tc.AppendDouble(b, 1.5)
	}
	b = append(b, make([]byte, 16)...)

	ctx := context.Background()
	p, mem := apache()
	mem.Write(b[n:])
	var lens []int
	for _, typ := range []thrift.TType{thrift.STRUCT, thrift.LIST, thrift.SET, thrift.UUID} {
		before := mem.Len()
		if err := thrift.SkipDefaultDepth(ctx, p, typ); err != nil {
			t.Fatal(err)
		}
		lens = append(lens, before-mem.Len())
	}
	off := n
	for i, typ := range []byte{tc.TypeStruct, tc.TypeList, tc.TypeSet, tc.TypeUUID} {
		m, err := tc.Skip(b[off:], typ, tc.MaxDepth)
		if err != nil {
			t.Fatal(err)
		}
		if m != lens[i] {
			t.Fatalf("Skip(type %d) = %d, Apache skipped %d", typ, m, lens[i])
		}
		off += m
	}
	if off != len(b) {
		t.Fatalf("skipped to %d of %d", off, len(b))
	}
}
