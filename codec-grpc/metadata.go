package grpccodec

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// MD is gRPC metadata: lower-case keys, each with one or more values. A
// key ending in "-bin" holds binary values, which travel base64-encoded;
// MD always holds them decoded. Other values must be printable ASCII.
type MD map[string][]string

// Pairs returns metadata from key, value pairs; keys are lower-cased. A
// final key without a value is ignored.
func Pairs(kv ...string) MD {
	md := make(MD, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k := lower(kv[i])
		md[k] = append(md[k], kv[i+1])
	}
	return md
}

// Get returns the values of key k (lower-cased first).
func (md MD) Get(k string) []string { return md[lower(k)] }

// Set replaces the values of key k (lower-cased first).
func (md MD) Set(k string, vals ...string) { md[lower(k)] = vals }

// Append adds values to key k (lower-cased first).
func (md MD) Append(k string, vals ...string) {
	k = lower(k)
	md[k] = append(md[k], vals...)
}

// Copy returns a deep copy of md.
func (md MD) Copy() MD {
	out := make(MD, len(md))
	for k, v := range md {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// Join returns the union of mds; values of a shared key are concatenated
// in order.
func Join(mds ...MD) MD {
	out := MD{}
	for _, md := range mds {
		for k, v := range md {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

// Header returns md as header fields with decoded values, keys sorted
// as the map ranges (unspecified order).
func (md MD) Header() stream.Header {
	var h stream.Header
	for k, vs := range md {
		for _, v := range vs {
			h = append(h, stream.Field{Name: k, Value: v})
		}
	}
	return h
}

// FromHeader returns the fields of h as metadata, keys lower-cased.
// Values are taken as they are (decoded).
func FromHeader(h stream.Header) MD {
	md := make(MD, len(h))
	for _, f := range h {
		k := lower(f.Name)
		md[k] = append(md[k], f.Value)
	}
	return md
}

// Outgoing metadata (client).

type outgoingKey struct{}

// NewOutgoingContext returns ctx with md as the metadata of the calls made
// with it, replacing earlier outgoing metadata. md must not be changed
// afterwards.
func NewOutgoingContext(ctx context.Context, md MD) context.Context {
	return context.WithValue(ctx, outgoingKey{}, md)
}

// AppendToOutgoingContext returns ctx with key, value pairs added to its
// outgoing metadata (keys lower-cased). A final key without a value is
// ignored.
func AppendToOutgoingContext(ctx context.Context, kv ...string) context.Context {
	md, _ := ctx.Value(outgoingKey{}).(MD)
	md = Join(md, Pairs(kv...))
	return context.WithValue(ctx, outgoingKey{}, md)
}

// FromOutgoingContext returns the outgoing metadata of ctx. The map must
// not be changed.
func FromOutgoingContext(ctx context.Context) (MD, bool) {
	md, ok := ctx.Value(outgoingKey{}).(MD)
	return md, ok
}

// Response metadata (client).

type respKey struct{ trailer bool }

// WithResponseHeader returns ctx that makes a call made with it store the
// response header metadata in *md (a unary call, or a stream once its
// header arrives).
func WithResponseHeader(ctx context.Context, md *MD) context.Context {
	return context.WithValue(ctx, respKey{false}, md)
}

// WithResponseTrailer returns ctx that makes a call made with it store the
// response trailer metadata in *md when the call ends.
func WithResponseTrailer(ctx context.Context, md *MD) context.Context {
	return context.WithValue(ctx, respKey{true}, md)
}

// Incoming metadata (server).

type incomingKey struct{}

// NewIncomingContext returns ctx with md as its incoming metadata, for
// tests of handlers.
func NewIncomingContext(ctx context.Context, md MD) context.Context {
	return context.WithValue(ctx, incomingKey{}, md)
}

// FromIncomingContext returns the request metadata of a server call: the
// request's header fields except pseudo-headers and the fields gRPC
// reserves (":authority" and "user-agent" are included, as in grpc-go),
// with "-bin" values decoded. The map is the caller's to change.
func FromIncomingContext(ctx context.Context) (MD, bool) {
	if md, ok := ctx.Value(incomingKey{}).(MD); ok {
		return md, true
	}
	ss, ok := ctx.Value(serverKey{}).(*serverStream)
	if !ok {
		return nil, false
	}
	return incomingMD(ss.raw.Header()), true
}

// Header and trailer from a handler.

// SetHeader adds md to the response header of the server call of ctx, sent
// with the first response message or by SendHeader. It fails once the
// header has been sent, or when ctx is not a gRPC server call's.
func SetHeader(ctx context.Context, md MD) error {
	ss, ok := ctx.Value(serverKey{}).(*serverStream)
	if !ok {
		return status.New(status.Internal, "grpc: SetHeader: not a gRPC server call context")
	}
	return ss.SetHeader(md.Header())
}

// SendHeader sends the response header of the server call of ctx now,
// with md added.
func SendHeader(ctx context.Context, md MD) error {
	ss, ok := ctx.Value(serverKey{}).(*serverStream)
	if !ok {
		return status.New(status.Internal, "grpc: SendHeader: not a gRPC server call context")
	}
	return ss.SendHeader(md.Header())
}

// SetTrailer adds md to the trailer sent when the server call of ctx ends.
func SetTrailer(ctx context.Context, md MD) error {
	ss, ok := ctx.Value(serverKey{}).(*serverStream)
	if !ok {
		return status.New(status.Internal, "grpc: SetTrailer: not a gRPC server call context")
	}
	ss.SetTrailer(md.Header())
	return nil
}

// Wire form.

// reservedHeader reports whether a header name is gRPC's or HTTP/2's own
// and so never user metadata.
func reservedHeader(k string) bool {
	if len(k) > 0 && k[0] == ':' {
		return true
	}
	switch k {
	case "content-type", "user-agent", "te", "grpc-message-type", "grpc-encoding",
		"grpc-accept-encoding", "grpc-message", "grpc-status", "grpc-timeout",
		"grpc-status-details-bin", "connection", "keep-alive", "proxy-connection",
		"transfer-encoding", "upgrade", "host", hdrKind:
		return true
	}
	return false
}

// isBinKey reports whether a metadata key holds binary values.
func isBinKey(k string) bool { return strings.HasSuffix(k, "-bin") }

// validKey reports whether k is a legal metadata key: lower-case letters,
// digits, '-', '_' and '.'.
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validValue reports whether v is a legal non-binary value: printable
// ASCII.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// appendWireMD appends user metadata fields (decoded values) to h in
// wire form: keys lower-cased, "-bin" values base64 with padding.
// Reserved keys are skipped; an illegal key or value is an Internal error.
func appendWireMD(h stream.Header, fields stream.Header) (stream.Header, error) {
	for _, f := range fields {
		k := lower(f.Name)
		if reservedHeader(k) {
			continue
		}
		if !validKey(k) {
			return h, status.Errorf(status.Internal, "grpc: header key %q contains illegal characters", f.Name)
		}
		v := f.Value
		if isBinKey(k) {
			v = base64.StdEncoding.EncodeToString([]byte(v))
		} else if !validValue(v) {
			return h, status.Errorf(status.Internal, "grpc: header key %q contains value with non-printable ASCII characters", k)
		}
		h = append(h, stream.Field{Name: k, Value: v})
	}
	return h, nil
}

// decodeBin decodes a base64 "-bin" value, padded or not.
func decodeBin(v string) (string, bool) {
	if len(v)%4 == 0 {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			return string(b), true
		}
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "="))
	if err != nil {
		return "", false
	}
	return string(b), true
}

// userFields returns the user metadata of a received header block with
// decoded values: reserved fields are dropped (keep lists reserved names
// to keep anyway), "-bin" values are decoded (a comma-separated list gives
// several values) and undecodable ones dropped.
func userFields(h stream.Header, keep ...string) stream.Header {
	var out stream.Header
outer:
	for _, f := range h {
		if reservedHeader(f.Name) {
			for _, k := range keep {
				if f.Name == k {
					out = append(out, f)
				}
			}
			continue
		}
		if !isBinKey(f.Name) {
			out = append(out, f)
			continue
		}
		parts := strings.Split(f.Value, ",")
		for _, p := range parts {
			if _, ok := decodeBin(strings.TrimSpace(p)); !ok {
				continue outer
			}
		}
		for _, p := range parts {
			v, _ := decodeBin(strings.TrimSpace(p))
			out = append(out, stream.Field{Name: f.Name, Value: v})
		}
	}
	return out
}

// incomingMD returns the user metadata of a request header.
func incomingMD(h stream.Header) MD {
	return FromHeader(userFields(h, ":authority", "user-agent"))
}

// Metainfo on the wire, as Kitex's gRPC transport writes it: a key K of
// metainfo goes as "rpc-transit-" (or "rpc-persist-") followed by K
// lower-cased with '_' as '-'; a receiver turns the rest of the name back
// into upper case with '_' for '-' (so keys round-trip when they are upper
// case with underscores, Kitex's convention).
const (
	hdrTransient  = "rpc-transit-"
	hdrPersistent = "rpc-persist-"
	hdrBackward   = "rpc-backward-"
)

// toHeaderKey turns a metainfo key into its header-name suffix.
func toHeaderKey(k string) string {
	b := []byte(k)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == '_':
			b[i] = '-'
		}
	}
	return string(b)
}

// fromHeaderKey turns a header-name suffix back into a metainfo key.
func fromHeaderKey(k string) string {
	b := []byte(k)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - ('a' - 'A')
		case c == '-':
			b[i] = '_'
		}
	}
	return string(b)
}

// appendMetainfo appends the metainfo values ctx sends to the next hop.
func appendMetainfo(ctx context.Context, h stream.Header) stream.Header {
	kvs := metainfo.AppendWire(ctx, nil)
	for _, kv := range kvs {
		var name string
		switch {
		case strings.HasPrefix(kv.Key, metainfo.PrefixTransient):
			name = hdrTransient + toHeaderKey(kv.Key[len(metainfo.PrefixTransient):])
		case strings.HasPrefix(kv.Key, metainfo.PrefixPersistent):
			name = hdrPersistent + toHeaderKey(kv.Key[len(metainfo.PrefixPersistent):])
		default:
			continue
		}
		if validKey(name) && validValue(kv.Value) {
			h = append(h, stream.Field{Name: name, Value: kv.Value})
		}
	}
	return h
}

// metainfoFromHeader returns ctx with the metainfo values of a request
// header. (The call's context gets ready for backward values once the
// dispatcher made its Info: see serve.)
func metainfoFromHeader(ctx context.Context, h stream.Header) context.Context {
	var kvs []codec.StrKV
	for _, f := range h {
		switch {
		case strings.HasPrefix(f.Name, hdrTransient):
			kvs = append(kvs, codec.StrKV{Key: metainfo.PrefixTransient + fromHeaderKey(f.Name[len(hdrTransient):]), Value: f.Value})
		case strings.HasPrefix(f.Name, hdrPersistent):
			kvs = append(kvs, codec.StrKV{Key: metainfo.PrefixPersistent + fromHeaderKey(f.Name[len(hdrPersistent):]), Value: f.Value})
		}
	}
	if len(kvs) > 0 {
		ctx = metainfo.FromWire(ctx, kvs)
	}
	return ctx
}

// appendBackward appends the backward values recorded in ctx as
// rpc-backward-* fields.
func appendBackward(ctx context.Context, h stream.Header) stream.Header {
	for _, kv := range metainfo.AppendBackwardWire(ctx, nil) {
		name := hdrBackward + toHeaderKey(kv.Key[len(metainfo.PrefixBackward):])
		if validKey(name) && validValue(kv.Value) {
			h = append(h, stream.Field{Name: name, Value: kv.Value})
		}
	}
	return h
}

// backwardFromTrailer hands the rpc-backward-* fields of a response to the
// metainfo collector of ctx.
func backwardFromTrailer(ctx context.Context, h stream.Header) {
	var kvs []codec.StrKV
	for _, f := range h {
		if strings.HasPrefix(f.Name, hdrBackward) {
			kvs = append(kvs, codec.StrKV{Key: metainfo.PrefixBackward + fromHeaderKey(f.Name[len(hdrBackward):]), Value: f.Value})
		}
	}
	if len(kvs) > 0 {
		metainfo.SetBackwardValuesFromWire(ctx, kvs)
	}
}

// appendCarrier appends the keys of md, the call's protocol-neutral
// metadata (callinfo.Metadata), as header fields: reserved names, illegal
// keys and values that are not printable ASCII (outside "-bin" keys) are
// left out, since the carrier is shared with transports that accept them.
func appendCarrier(h stream.Header, md *callinfo.Metadata) stream.Header {
	if md.Len() == 0 {
		return h
	}
	md.Range(func(k, v string) bool {
		if reservedHeader(k) || !validKey(k) {
			return true
		}
		if isBinKey(k) {
			v = base64.StdEncoding.EncodeToString([]byte(v))
		} else if !validValue(v) {
			return true
		}
		h = append(h, stream.Field{Name: k, Value: v})
		return true
	})
	return h
}

// fillCarrier sets the user fields of h (values decoded) in md.
func fillCarrier(md *callinfo.Metadata, h stream.Header) {
	for i := range h {
		if !reservedHeader(h[i].Name) {
			// Some user field: take the slower path that decodes them.
			for _, f := range userFields(h[i:]) {
				md.Set(f.Name, f.Value)
			}
			return
		}
	}
}
