package thriftcodec

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
)

// FastCodec is the fast path of a Thrift struct, implemented by generated
// code and found by type assertion. A value that implements it is encoded
// and decoded without Apache Thrift's TProtocol.
//
// FastSize and FastAppend must accept a nil receiver and then encode an
// empty struct (a single TypeStop byte), as Apache Thrift's generated Write
// does.
type FastCodec interface {
	// FastSize returns the exact encoded size of the struct, TypeStop
	// included.
	FastSize() int
	// FastAppend appends the encoded struct to b: exactly FastSize() bytes,
	// fields in the order of their ids. It must not reallocate b when it
	// has room for FastSize() more bytes.
	FastAppend(b []byte) []byte
	// FastRead decodes one struct, TypeStop included, from the start of b
	// and returns the bytes consumed. Strings and binaries are copied (the
	// struct must not alias b). It never panics on malformed input: it
	// bounds every length by len(b) and skips unknown fields with [Skip];
	// errors should be protocol errors (status.ErrProtocol).
	FastRead(b []byte) (int, error)
}

// MaxMethodNameLen is the longest method name [Codec] accepts: 4096 bytes.
const MaxMethodNameLen = 4096

// minMessageSize is the smallest strict message: the envelope with an empty
// method name and an empty struct.
const minMessageSize = 12 + StopSize

// Codec is the strict Thrift Binary message codec, registered under the
// name "thrift". It is stateless and safe for concurrent use.
//
// Envelope: u32 0x80010000|type, i32 method name length, name, i32
// sequence id. Non-strict (unversioned) messages are rejected. The payload
// of Call, Oneway and Reply messages is msg.Payload (see [FastCodec]); the
// payload of an Exception message is a TApplicationException built from and
// decoded into msg.Err (see [ExceptionType] and [CodeForType]).
//
// Size is exact for Exception messages, nil payloads, [FastCodec] payloads
// and raw payloads (codec.Raw), and -1 for thrift.TStruct payloads.
// DecodePayload reads one struct from the start of the body and ignores
// bytes after it, as Apache Thrift and Kitex do; decoding into a
// *codec.Raw checks that struct with [Skip] and copies exactly its bytes.
var Codec codec.Codec = messageCodec{}

func init() {
	codec.Register(Codec)
	codec.RegisterPayload(Payload)
	transport.Register(Buffered)
}

type messageCodec struct{}

var (
	_ codec.Codec      = messageCodec{}
	_ codec.RawCarrier = messageCodec{}
)

func (messageCodec) Name() string { return "thrift" }

// CarriesRaw implements codec.RawCarrier: a codec.Raw payload is the args
// or result struct, written verbatim; decoding into a *codec.Raw checks
// the struct with [Skip] and copies it.
func (messageCodec) CarriesRaw() bool { return true }

// Detect accepts 0x80 0x01, then (when present) 0x00 and a message type
// from 1 to 4.
func (messageCodec) Detect(prefix []byte) bool {
	if len(prefix) < 2 || prefix[0] != 0x80 || prefix[1] != 0x01 {
		return false
	}
	if len(prefix) >= 3 && prefix[2] != 0 {
		return false
	}
	if len(prefix) >= 4 && (prefix[3] < byte(codec.Call) || prefix[3] > byte(codec.Oneway)) {
		return false
	}
	return true
}

func (messageCodec) Size(msg *codec.Message) int {
	env := 12 + len(msg.Method)
	if msg.Type == codec.Exception {
		if msg.Err == nil {
			return -1
		}
		return env + exceptionSize(msg.Err)
	}
	switch p := msg.Payload.(type) {
	case nil:
		return env + StopSize
	case FastCodec:
		return env + p.FastSize()
	case codec.Raw, *codec.Raw:
		b, _ := codec.RawBytes(p)
		return env + len(b)
	}
	return -1
}

func (messageCodec) Append(dst []byte, msg *codec.Message) ([]byte, error) {
	if msg.Type < codec.Call || msg.Type > codec.Oneway {
		return dst, status.Protocolf("thrift: cannot encode message type %d", msg.Type)
	}
	if len(msg.Method) > MaxMethodNameLen {
		return dst, status.Protocolf("thrift: method name of %d bytes exceeds %d", len(msg.Method), MaxMethodNameLen)
	}
	if msg.Type == codec.Exception && msg.Err == nil {
		return dst, status.Errorf(status.Internal, "thrift: exception message %q without an error", msg.Method)
	}
	dst = append(dst, 0x80, 0x01, 0x00, byte(msg.Type))
	dst = AppendString(dst, msg.Method)
	dst = AppendI32(dst, msg.SeqID)
	if msg.Type == codec.Exception {
		return appendException(dst, msg.Err), nil
	}
	return appendStruct(dst, msg.Payload)
}

// parseHeader checks the first 8 bytes of a message and returns its type
// and method name length.
func parseHeader(b []byte) (codec.MessageType, int, error) {
	v := binary.BigEndian.Uint32(b)
	if v&0x80000000 == 0 {
		return 0, 0, status.Protocolf("thrift: non-strict (unversioned) message; only strict Thrift Binary is supported")
	}
	if v&0xffff0000 != 0x80010000 {
		return 0, 0, status.Protocolf("thrift: bad protocol version 0x%04x, want 0x8001", v>>16)
	}
	t := v & 0xffff
	if t < uint32(codec.Call) || t > uint32(codec.Oneway) {
		return 0, 0, status.Protocolf("thrift: unknown message type %d", t)
	}
	nl := int32(binary.BigEndian.Uint32(b[4:]))
	if nl < 0 || nl > MaxMethodNameLen {
		return 0, 0, status.Protocolf("thrift: method name length %d out of range [0, %d]", nl, MaxMethodNameLen)
	}
	return codec.MessageType(t), int(nl), nil
}

func (messageCodec) DecodeEnvelope(src []byte, msg *codec.Message) (int, error) {
	if len(src) < 12 {
		if len(src) >= 8 {
			if _, _, err := parseHeader(src); err != nil {
				return 0, err
			}
		}
		return 0, status.Protocolf("thrift: message of %d bytes is shorter than an envelope", len(src))
	}
	t, nl, err := parseHeader(src)
	if err != nil {
		return 0, err
	}
	if nl > len(src)-12 {
		return 0, status.Protocolf("thrift: method name length %d runs past the end of the %d-byte message", nl, len(src))
	}
	msg.Type = t
	if name := src[8 : 8+nl]; string(name) != msg.Method {
		// A client's msg holds the request's method, which the reply
		// repeats: no lookup then.
		msg.Method = internName(name)
	}
	msg.SeqID = int32(binary.BigEndian.Uint32(src[8+nl:]))
	return 12 + nl, nil
}

func (messageCodec) DecodePayload(body []byte, msg *codec.Message) error {
	if msg.Type == codec.Exception {
		e, err := readException(body)
		if err != nil {
			return err
		}
		msg.Err = e
		return nil
	}
	_, err := readStruct(body, msg.Payload)
	return err
}

// appendStruct appends the struct v: nil as an empty struct, a FastCodec
// by its fast path, a codec.Raw verbatim, a thrift.TStruct through
// TBinaryProtocol.
func appendStruct(dst []byte, v any) ([]byte, error) {
	switch p := v.(type) {
	case nil:
		return AppendFieldStop(dst), nil
	case FastCodec:
		return p.FastAppend(dst), nil
	case codec.Raw, *codec.Raw:
		b, _ := codec.RawBytes(p)
		return append(dst, b...), nil
	case thrift.TStruct:
		return slowAppend(dst, p)
	}
	return dst, status.Errorf(status.Internal, "thrift: payload %T implements neither thriftcodec.FastCodec nor thrift.TStruct", v)
}

// readStruct decodes one struct from b into v and returns the bytes
// consumed. A nil v is checked with Skip and discarded; a *codec.Raw is
// checked with Skip and gets a copy of the struct's bytes.
func readStruct(b []byte, v any) (int, error) {
	switch p := v.(type) {
	case nil:
		return Skip(b, TypeStruct, MaxDepth)
	case *codec.Raw:
		if p == nil {
			return 0, status.Errorf(status.Internal, "thrift: decoding into a nil *codec.Raw")
		}
		n, err := Skip(b, TypeStruct, MaxDepth)
		if err != nil {
			return 0, err
		}
		codec.SetRaw(p, b[:n])
		return n, nil
	case FastCodec:
		n, err := p.FastRead(b)
		if err != nil {
			return 0, protocolError(p, err)
		}
		return n, nil
	case thrift.TStruct:
		return slowRead(b, p)
	}
	return 0, status.Errorf(status.Internal, "thrift: payload %T implements neither thriftcodec.FastCodec nor thrift.TStruct", v)
}

// protocolError returns err if it is a *status.Error, or wraps it as a
// protocol error.
func protocolError(v any, err error) error {
	if _, ok := err.(*status.Error); ok {
		return err
	}
	return status.Wrap(status.ErrProtocol, "thrift: decoding "+typeName(v), err)
}

// slowState is a pooled TBinaryProtocol over a TMemoryBuffer.
type slowState struct {
	buf  bytes.Buffer
	mem  thrift.TMemoryBuffer
	cfg  thrift.TConfiguration
	prot *thrift.TBinaryProtocol
}

// maxPooledBuffer is the largest buffer kept in the pool.
const maxPooledBuffer = 64 << 10

var slowPool = sync.Pool{New: func() any {
	s := &slowState{}
	s.mem.Buffer = &s.buf
	s.prot = thrift.NewTBinaryProtocolConf(&s.mem, &s.cfg)
	return s
}}

func putSlow(s *slowState) {
	if s.buf.Cap() > maxPooledBuffer {
		return
	}
	s.buf.Reset()
	slowPool.Put(s)
}

// slowAppend encodes v with Apache Thrift's TBinaryProtocol.
func slowAppend(dst []byte, v thrift.TStruct) ([]byte, error) {
	s := slowPool.Get().(*slowState)
	s.buf.Reset()
	s.cfg.MaxMessageSize = 0
	if err := v.Write(context.Background(), s.prot); err != nil {
		putSlow(s)
		return dst, status.Errorf(status.Internal, "thrift: encoding %s: %v", typeName(v), err)
	}
	dst = append(dst, s.buf.Bytes()...)
	putSlow(s)
	return dst, nil
}

// slowRead decodes one struct from b into v with Apache Thrift's
// TBinaryProtocol and returns the bytes consumed. Lengths are bounded by
// len(b) through the protocol's MaxMessageSize.
func slowRead(b []byte, v thrift.TStruct) (int, error) {
	s := slowPool.Get().(*slowState)
	s.buf.Reset()
	s.buf.Write(b)
	s.cfg.MaxMessageSize = int32(min(max(len(b), 1), math.MaxInt32))
	err := v.Read(context.Background(), s.prot)
	n := len(b) - s.buf.Len()
	putSlow(s)
	if err != nil {
		return 0, status.Wrap(status.ErrProtocol, "thrift: decoding "+typeName(v), err)
	}
	return n, nil
}

// Method names are interned so that decoding an envelope does not allocate
// once a name has been seen. The table is copy-on-write and bounded, so a
// peer sending random names cannot grow it past maxInterned entries.
const (
	maxInterned    = 1024
	maxInternedLen = 128
)

var (
	internMu sync.Mutex
	interned atomic.Pointer[map[string]string]
)

func internName(b []byte) string {
	if m := interned.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	s := string(b)
	if len(s) <= maxInternedLen {
		internSlow(s)
	}
	return s
}

func internSlow(s string) {
	internMu.Lock()
	defer internMu.Unlock()
	var old map[string]string
	if p := interned.Load(); p != nil {
		old = *p
	}
	if _, ok := old[s]; ok || len(old) >= maxInterned {
		return
	}
	m := make(map[string]string, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[s] = s
	interned.Store(&m)
}
