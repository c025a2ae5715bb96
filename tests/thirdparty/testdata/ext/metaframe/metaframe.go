// Package metaframe is a framed transport that carries call metadata,
// written against Skiff's core alone. core's transport.Framed carries no
// metadata, so callinfo.Info.Request keys set by client middleware reach
// the server only over a transport that implements transport.MetaHandler;
// this is the smallest such transport. A frame is
//
//	0xC5 0x01 | length of the rest (4 bytes, big endian) |
//	service length (2 bytes) | service | pair count (2 bytes) |
//	pairs: key length (2 bytes) | key | value length (2 bytes) | value |
//	message (as the codec encodes it)
//
// All integers are big endian. The first byte has its high bit set, so
// transport.Framed never mistakes a frame for one of its own.
//
// The protocol registers itself (transport.Register) when the package is
// imported, so servers sniff it next to the framed transports.
package metaframe

import (
	"context"
	"encoding/binary"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
)

// Name is the protocol's registry name.
const Name = "skiffext.metaframe"

const (
	magic   = 0xC5
	version = 0x01
	prefix  = 6 // magic, version, length
)

// Protocol is the transport. It is safe for concurrent use.
var Protocol transport.Protocol = proto{}

var (
	_ transport.Protocol    = proto{}
	_ transport.MetaHandler = proto{}
)

func init() { transport.Register(Protocol) }

type proto struct{}

func (proto) Name() string { return Name }

func (proto) Detect(p []byte) bool {
	return len(p) >= 2 && p[0] == magic && p[1] == version
}

func (proto) ReadMessage(r transport.Reader, msg *codec.Message, maxSize int) ([]byte, error) {
	h, err := r.Next(prefix)
	if err != nil {
		return nil, err
	}
	if h[0] != magic || h[1] != version {
		return nil, status.Protocolf("%s: bad frame start %x", Name, h[:2])
	}
	n := binary.BigEndian.Uint32(h[2:])
	if err := transport.CheckFrameSize(int64(n), maxSize); err != nil {
		return nil, err
	}
	body, err := r.Next(int(n))
	if err != nil {
		return nil, err
	}
	msg.Size = prefix + int(n)
	off, err := readHeader(body, msg)
	if err != nil {
		return nil, err
	}
	return body[off:], nil
}

// readHeader decodes the service name and the metadata pairs at the start
// of body into msg (copying them) and returns their length.
func readHeader(body []byte, msg *codec.Message) (int, error) {
	off := 0
	str := func() (string, bool) {
		if len(body)-off < 2 {
			return "", false
		}
		l := int(binary.BigEndian.Uint16(body[off:]))
		off += 2
		if len(body)-off < l {
			return "", false
		}
		s := string(body[off : off+l])
		off += l
		return s, true
	}
	svc, ok := str()
	if !ok || len(body)-off < 2 {
		return 0, status.Protocolf("%s: header cut", Name)
	}
	count := int(binary.BigEndian.Uint16(body[off:]))
	off += 2
	for range count {
		k, ok1 := str()
		v, ok2 := str()
		if !ok1 || !ok2 {
			return 0, status.Protocolf("%s: metadata cut", Name)
		}
		msg.Meta.SetStr(k, v)
	}
	msg.Service = svc
	return off, nil
}

func (proto) WriteMessage(w transport.Writer, msg *codec.Message, c codec.Codec) error {
	hdr := prefix + 2 + len(msg.Service) + 2
	if len(msg.Service) > 0xFFFF || len(msg.Meta.Strs) > 0xFFFF {
		return status.Protocolf("%s: header too large", Name)
	}
	for _, kv := range msg.Meta.Strs {
		if len(kv.Key) > 0xFFFF || len(kv.Value) > 0xFFFF {
			return status.Protocolf("%s: metadata entry %q too large", Name, kv.Key)
		}
		hdr += 4 + len(kv.Key) + len(kv.Value)
	}
	frame, err := transport.Encode(w, c, msg, hdr)
	if err != nil {
		return err
	}
	h := frame[:0:hdr]
	h = append(h, magic, version)
	h = binary.BigEndian.AppendUint32(h, uint32(len(frame)-prefix))
	h = binary.BigEndian.AppendUint16(h, uint16(len(msg.Service)))
	h = append(h, msg.Service...)
	h = binary.BigEndian.AppendUint16(h, uint16(len(msg.Meta.Strs)))
	for _, kv := range msg.Meta.Strs {
		h = binary.BigEndian.AppendUint16(h, uint16(len(kv.Key)))
		h = append(h, kv.Key...)
		h = binary.BigEndian.AppendUint16(h, uint16(len(kv.Value)))
		h = append(h, kv.Value...)
	}
	if len(h) != hdr {
		return status.Protocolf("%s: header of %d bytes, reserved %d", Name, len(h), hdr)
	}
	return nil
}

// ClientWriteMeta sends the call's request metadata (callinfo.Info.Request).
func (proto) ClientWriteMeta(ctx context.Context, msg *codec.Message) {
	if ci := callinfo.From(ctx); ci != nil {
		ci.Request.Range(func(k, v string) bool {
			msg.Meta.SetStr(k, v)
			return true
		})
	}
}

// ClientReadMeta records the reply's metadata in the attempt
// (callinfo.Attempt.Response).
func (proto) ClientReadMeta(ctx context.Context, msg *codec.Message) error {
	if at := callinfo.AttemptFrom(ctx); at != nil {
		for _, kv := range msg.Meta.Strs {
			at.Response.Set(kv.Key, kv.Value)
		}
	}
	return nil
}

// ServerReadMeta makes the request's metadata the call's
// callinfo.Info.Request.
func (proto) ServerReadMeta(ctx context.Context, msg *codec.Message) (context.Context, context.CancelFunc) {
	if ci := callinfo.From(ctx); ci != nil {
		for _, kv := range msg.Meta.Strs {
			ci.Request.Set(kv.Key, kv.Value)
		}
	}
	return ctx, nil
}

// ServerWriteMeta sends the call's reply metadata (callinfo.Info.Response).
// It carries no business errors.
func (proto) ServerWriteMeta(ctx context.Context, msg *codec.Message, _ error) bool {
	if ci := callinfo.From(ctx); ci != nil {
		ci.Response.Range(func(k, v string) bool {
			msg.Meta.SetStr(k, v)
			return true
		})
	}
	return false
}
