package codec

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/skiffrpc/skiff/core/status"
)

// MessageType is the kind of a message. The numbering is Thrift's, which
// Kitex Protobuf shares.
type MessageType uint8

// Message types.
const (
	// Call is a request that expects a reply.
	Call MessageType = 1
	// Reply is a successful response (it may carry a declared exception in
	// its result payload).
	Reply MessageType = 2
	// Exception is a response that carries an application exception
	// (Message.Err) instead of a payload.
	Exception MessageType = 3
	// Oneway is a request that gets no reply.
	Oneway MessageType = 4
)

// String returns "call", "reply", "exception", "oneway" or "type(N)".
func (t MessageType) String() string {
	switch t {
	case Call:
		return "call"
	case Reply:
		return "reply"
	case Exception:
		return "exception"
	case Oneway:
		return "oneway"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// IntKV is one integer-keyed metadata entry (TTHeader's INFO_INTKEYVALUE).
type IntKV struct {
	Key   uint16
	Value string
}

// StrKV is one string-keyed metadata entry.
type StrKV struct {
	Key   string
	Value string
}

// Metadata is the transport metadata that travels with a message on
// protocols that carry headers. Small slices, not maps: a handful of keys is
// the common case and slices reuse their storage across calls.
type Metadata struct {
	Ints []IntKV
	Strs []StrKV
}

// Int returns the value of int key k.
func (m *Metadata) Int(k uint16) (string, bool) {
	for i := range m.Ints {
		if m.Ints[i].Key == k {
			return m.Ints[i].Value, true
		}
	}
	return "", false
}

// Str returns the value of string key k.
func (m *Metadata) Str(k string) (string, bool) {
	for i := range m.Strs {
		if m.Strs[i].Key == k {
			return m.Strs[i].Value, true
		}
	}
	return "", false
}

// SetInt sets int key k, replacing an earlier value.
func (m *Metadata) SetInt(k uint16, v string) {
	for i := range m.Ints {
		if m.Ints[i].Key == k {
			m.Ints[i].Value = v
			return
		}
	}
	m.Ints = append(m.Ints, IntKV{k, v})
}

// SetStr sets string key k, replacing an earlier value.
func (m *Metadata) SetStr(k, v string) {
	for i := range m.Strs {
		if m.Strs[i].Key == k {
			m.Strs[i].Value = v
			return
		}
	}
	m.Strs = append(m.Strs, StrKV{k, v})
}

// Reset empties m and keeps its storage.
func (m *Metadata) Reset() {
	clear(m.Ints)
	clear(m.Strs)
	m.Ints = m.Ints[:0]
	m.Strs = m.Strs[:0]
}

// Message is one RPC message on its way through a codec and a transport.
// The runtime pools Messages; a codec or transport must not keep one after
// the call that received it returns.
type Message struct {
	// Type is the message type.
	Type MessageType
	// SeqID is the sequence id that pairs a reply with its request.
	SeqID int32
	// Service is the callee service name when the protocol carries one
	// (TTHeader, gRPC); empty otherwise.
	Service string
	// Method is the method name.
	Method string
	// Payload is the request arguments (Call, Oneway) or the result (Reply).
	// On decode the runtime sets it to an empty value of the right type
	// between DecodeEnvelope and DecodePayload.
	Payload any
	// Err is the application exception of an Exception message.
	Err *status.Error
	// Meta is transport metadata; protocols without headers ignore it.
	Meta Metadata
	// ProtocolID is the payload protocol a transport header named, if any
	// (TTHeader's protocol id); 0 otherwise.
	ProtocolID uint8
	// ConnReset is set on a message whose sender asks the receiver to stop
	// using the connection after it (a server shutting down gracefully;
	// TTHeader's crrst key). Transports without headers ignore it.
	ConnReset bool
	// OutOfOrder, on a request, says its sender accepts the replies of a
	// connection in any order (TTHeader's flag 0x0001), so the server may
	// serve the connection's requests at once; on a reply, that the server
	// does, which lets the client multiplex calls on one connection.
	// Transports without the notion ignore it.
	OutOfOrder bool
	// Size is the number of bytes the message took on the wire, frame and
	// headers included. A transport's ReadMessage sets it; 0 means the
	// transport did not say (the runtime then counts the message bytes).
	Size int
	// Received, on a request a server read, is when its last byte had
	// arrived (at the latest): the server sets it after ReadMessage, before
	// the transport's ServerReadMeta, so a relative time budget the request
	// carries (TTHeader's timeout) counts from its arrival, not from when
	// the server got round to it. Zero when unknown (count from now then).
	Received time.Time
}

// Reset clears m for reuse and keeps the storage of its metadata.
func (m *Message) Reset() {
	meta := m.Meta
	meta.Reset()
	*m = Message{Meta: meta}
}

// Codec is a message protocol: it writes and reads the envelope and the
// payload of one message. A Codec must be safe for concurrent use.
type Codec interface {
	// Name is the codec's registry name, such as "thrift" or "kitexpb".
	Name() string
	// Detect reports whether prefix, the first bytes of an unframed message
	// (at most 8, possibly fewer), starts a message in this codec's format.
	Detect(prefix []byte) bool
	// Size returns the exact encoded length of msg, or -1 when it cannot be
	// known without encoding. Transports use it to reserve the write buffer
	// once and encode in place.
	Size(msg *Message) int
	// Append appends the encoding of msg to dst. When Size returned n and
	// cap(dst)-len(dst) >= n, Append must not reallocate.
	Append(dst []byte, msg *Message) ([]byte, error)
	// DecodeEnvelope decodes the envelope at the start of src into msg
	// (Type, SeqID, Method) and returns its length in bytes.
	DecodeEnvelope(src []byte, msg *Message) (int, error)
	// DecodePayload decodes body, the bytes after the envelope, into
	// msg.Payload, or into msg.Err for an Exception message. Decoded values
	// must not alias body: the runtime releases it after the call.
	DecodePayload(body []byte, msg *Message) error
}

// PayloadCodec marshals single payload values. Implementations must be safe
// for concurrent use.
type PayloadCodec interface {
	// Name is the registry name, such as "proto" or "thrift".
	Name() string
	// Marshal returns the encoding of v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, which is a pointer. v must not alias data.
	Unmarshal(data []byte, v any) error
}

// Wrapper is implemented by generated argument and result wrappers of
// protocols whose messages carry one bare value (Kitex Protobuf, gRPC): an
// arguments wrapper holds the request message, a result wrapper the
// response message. Payload codecs encode Unwrap() in place of the wrapper
// and decode into it.
type Wrapper interface {
	// Unwrap returns the wrapped value, a pointer, allocating it first
	// when it is nil.
	Unwrap() any
}

// Unwrap returns v.Unwrap() when v is a [Wrapper], otherwise v.
func Unwrap(v any) any {
	if w, ok := v.(Wrapper); ok {
		return w.Unwrap()
	}
	return v
}

// SizeAppender is the optional fast path of a [PayloadCodec]: exact size
// first, then one encode into the caller's buffer.
type SizeAppender interface {
	// Size returns the exact encoded length of v, or -1 if unknown.
	Size(v any) int
	// AppendMarshal appends the encoding of v to dst.
	AppendMarshal(dst []byte, v any) ([]byte, error)
}

var (
	mu       sync.RWMutex
	codecs   = map[string]Codec{}
	payloads = map[string]PayloadCodec{}
)

// Register adds c to the registry under c.Name(), replacing an earlier codec
// of that name. Codec modules call it from init.
func Register(c Codec) {
	mu.Lock()
	codecs[c.Name()] = c
	mu.Unlock()
}

// Lookup returns the codec registered under name, or nil.
func Lookup(name string) Codec {
	mu.RLock()
	defer mu.RUnlock()
	return codecs[name]
}

// All returns every registered codec, sorted by name.
func All() []Codec {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Codec, 0, len(codecs))
	for _, c := range codecs {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// RegisterPayload adds p to the payload codec registry under p.Name().
func RegisterPayload(p PayloadCodec) {
	mu.Lock()
	payloads[p.Name()] = p
	mu.Unlock()
}

// LookupPayload returns the payload codec registered under name, or nil.
func LookupPayload(name string) PayloadCodec {
	mu.RLock()
	defer mu.RUnlock()
	return payloads[name]
}

// Envelope calls c.DecodeEnvelope and checks the envelope length it
// reports against src, so a faulty codec yields a protocol error instead of
// a slice panic in the runtime.
func Envelope(c Codec, src []byte, msg *Message) (int, error) {
	n, err := c.DecodeEnvelope(src, msg)
	if err == nil && (n < 0 || n > len(src)) {
		return 0, status.Protocolf("codec %s: envelope length %d outside the %d-byte message", c.Name(), n, len(src))
	}
	return n, err
}
