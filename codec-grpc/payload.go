package grpccodec

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// Marshaler is implemented by message values that encode themselves, for
// any content subtype. It takes precedence over proto.Message.
type Marshaler interface {
	// AppendGRPC appends the message's encoding to dst.
	AppendGRPC(dst []byte) ([]byte, error)
}

// Unmarshaler is implemented by message values that decode themselves.
// It takes precedence over proto.Message.
type Unmarshaler interface {
	// UnmarshalGRPC decodes data into the value. The value must not keep
	// data, which is reused after the call.
	UnmarshalGRPC(data []byte) error
}

// Content subtypes.
const (
	subtypeProto  = "proto"
	subtypeThrift = "thrift"
)

// contentType returns the content type for a subtype.
func contentType(subtype string) string {
	switch subtype {
	case "":
		return "application/grpc"
	case subtypeProto:
		return "application/grpc+proto"
	case subtypeThrift:
		return "application/grpc+thrift"
	}
	return "application/grpc+" + subtype
}

// parseContentType returns the content subtype of a gRPC content type,
// lower-cased ("" for plain application/grpc), and false when ct is not a
// gRPC content type.
func parseContentType(ct string) (string, bool) {
	const base = "application/grpc"
	if len(ct) < len(base) || !asciiEqualFold(ct[:len(base)], base) {
		return "", false
	}
	rest := ct[len(base):]
	if rest == "" {
		return "", true
	}
	switch rest[0] {
	case ';':
		return "", true
	case '+':
		sub := rest[1:]
		for i := 0; i < len(sub); i++ {
			if sub[i] == ';' {
				sub = sub[:i]
				break
			}
		}
		return lower(sub), true
	}
	return "", false
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// lower returns s in ASCII lower case, without allocating when it already
// is.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// supportedSubtype reports whether this package can carry payloads of a
// content subtype.
func supportedSubtype(sub string) bool {
	switch sub {
	case "", subtypeProto:
		return true
	case subtypeThrift:
		return codec.LookupPayload(subtypeThrift) != nil
	}
	return false
}

// appendPayload appends the encoding of message v (unwrapped first) for the
// content subtype to dst.
func appendPayload(dst []byte, v any, sub string) ([]byte, error) {
	v = codec.Unwrap(v)
	if b, ok := codec.RawBytes(v); ok {
		return append(dst, b...), nil // encoded already, for any subtype
	}
	if m, ok := v.(Marshaler); ok {
		return m.AppendGRPC(dst)
	}
	if sub == subtypeThrift {
		pc := codec.LookupPayload(subtypeThrift)
		if pc == nil {
			return dst, status.Errorf(status.Internal, "grpc: no thrift payload codec registered (import codec-thrift)")
		}
		if sa, ok := pc.(codec.SizeAppender); ok {
			if n := sa.Size(v); n >= 0 {
				dst = grow(dst, n)
			}
			return sa.AppendMarshal(dst, v)
		}
		b, err := pc.Marshal(v)
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return dst, status.Errorf(status.Internal, "grpc: cannot marshal %T: not a proto.Message", v)
	}
	n := proto.Size(m)
	dst = grow(dst, n)
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(dst, m)
	if err != nil {
		return dst, status.Errorf(status.Internal, "grpc: marshal %T: %v", v, err)
	}
	return b, nil
}

// decodePayload decodes data into message v (unwrapped first) for the
// content subtype. v does not keep data.
func decodePayload(data []byte, v any, sub string) error {
	v = codec.Unwrap(v)
	if r, ok := v.(*codec.Raw); ok {
		return decodeRaw(data, r, sub)
	}
	if m, ok := v.(Unmarshaler); ok {
		return m.UnmarshalGRPC(data)
	}
	if sub == subtypeThrift {
		pc := codec.LookupPayload(subtypeThrift)
		if pc == nil {
			return status.Errorf(status.Internal, "grpc: no thrift payload codec registered (import codec-thrift)")
		}
		return pc.Unmarshal(data, v)
	}
	m, ok := v.(proto.Message)
	if !ok {
		return status.Errorf(status.Internal, "grpc: cannot unmarshal into %T: not a proto.Message", v)
	}
	if err := proto.Unmarshal(data, m); err != nil {
		return status.Errorf(status.Internal, "grpc: failed to unmarshal the received message: %v", err)
	}
	return nil
}

// decodeRaw checks that data is one message of the content subtype (the
// wire format of protobuf; one struct for Thrift, through the Thrift
// payload codec) and stores a copy of it in r.
func decodeRaw(data []byte, r *codec.Raw, sub string) error {
	if r == nil {
		return status.Errorf(status.Internal, "grpc: cannot unmarshal into a nil *codec.Raw")
	}
	if sub == subtypeThrift {
		pc := codec.LookupPayload(subtypeThrift)
		if !codec.CarriesRaw(pc) {
			return status.Errorf(status.Internal, "grpc: the thrift payload codec does not carry raw payloads")
		}
		return pc.Unmarshal(data, r)
	}
	if err := checkProtoWire(data); err != nil {
		return status.Errorf(status.Internal, "grpc: failed to unmarshal the received message: %v", err)
	}
	codec.SetRaw(r, data)
	return nil
}

// checkProtoWire walks b as protobuf fields without decoding them
// (protowire bounds every length by b and group nesting by its recursion
// limit).
func checkProtoWire(b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if typ == protowire.EndGroupType {
			return fmt.Errorf("unexpected end of group %d", num)
		}
		b = b[n:]
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// Compression.

// Encoding names.
const (
	encodingIdentity = "identity"
	encodingGzip     = "gzip"
)

// acceptEncoding is the grpc-accept-encoding value this package sends.
const acceptEncoding = encodingGzip

var (
	gzipWriters sync.Pool
	gzipReaders sync.Pool
)

// gzipAppend appends the gzip compression of p to dst.
func gzipAppend(dst, p []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	w, _ := gzipWriters.Get().(*gzip.Writer)
	if w == nil {
		w = gzip.NewWriter(buf)
	} else {
		w.Reset(buf)
	}
	_, err := w.Write(p)
	if err == nil {
		err = w.Close()
	}
	w.Reset(io.Discard)
	gzipWriters.Put(w)
	if err != nil {
		return dst, status.Errorf(status.Internal, "grpc: gzip: %v", err)
	}
	return buf.Bytes(), nil
}

// gunzip decompresses p, refusing output longer than max bytes.
func gunzip(p []byte, max int) ([]byte, error) {
	r, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if r == nil {
		r, err = gzip.NewReader(bytes.NewReader(p))
	} else {
		err = r.Reset(bytes.NewReader(p))
	}
	if err != nil {
		return nil, status.Errorf(status.Internal, "grpc: failed to decompress the received message: %v", err)
	}
	defer gzipReaders.Put(r)
	out := make([]byte, 0, min(max, 4*len(p)+64))
	for {
		if len(out) == cap(out) {
			if len(out) > max {
				break
			}
			out = append(out, 0)[:len(out)]
		}
		n, rerr := r.Read(out[len(out):min(cap(out), max+1)])
		out = out[:len(out)+n]
		if len(out) > max {
			return nil, status.Errorf(status.ResourceExhausted, "grpc: received message after decompression larger than max %d", max)
		}
		if rerr == io.EOF {
			return out, nil
		}
		if rerr != nil {
			return nil, status.Errorf(status.Internal, "grpc: failed to decompress the received message: %v", rerr)
		}
	}
	return nil, status.Errorf(status.ResourceExhausted, "grpc: received message after decompression larger than max %d", max)
}

// putFrameHeader writes the 5-byte prefix for a payload of n bytes at b.
func putFrameHeader(b []byte, compressed bool, n int) {
	b[0] = 0
	if compressed {
		b[0] = 1
	}
	binary.BigEndian.PutUint32(b[1:5], uint32(n))
}
