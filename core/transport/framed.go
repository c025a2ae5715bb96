package transport

import (
	"encoding/binary"
	"sync"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// Framed is the Framed transport: a big-endian u32 length (excluding
// itself), then one message. It is the Kitex client default and Apache
// Thrift's TFramedTransport. Detect accepts a frame whose message is
// recognised by a registered codec.
var Framed Protocol = framed{}

func init() { Register(Framed) }

type framed struct{}

var _ Protocol = framed{}

func (framed) Name() string { return "framed" }

func (framed) Detect(prefix []byte) bool {
	if len(prefix) < 6 || prefix[0]&0x80 != 0 {
		return false
	}
	for _, c := range codec.All() {
		if c.Detect(prefix[4:]) {
			return true
		}
	}
	return false
}

func (framed) ReadMessage(r Reader, msg *codec.Message, maxSize int) ([]byte, error) {
	h, err := r.Next(4)
	if err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h)
	if err := CheckFrameSize(int64(n), maxSize); err != nil {
		return nil, err
	}
	msg.Size = 4 + int(n)
	return r.Next(int(n))
}

func (framed) WriteMessage(w Writer, msg *codec.Message, c codec.Codec) error {
	frame, err := Encode(w, c, msg, 4)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	return nil
}

// CheckFrameSize returns a protocol error when a frame of n bytes is empty
// or exceeds maxSize (0 means [DefaultMaxFrameSize]).
func CheckFrameSize(n int64, maxSize int) error {
	if maxSize <= 0 {
		maxSize = DefaultMaxFrameSize
	}
	if n <= 0 {
		return status.Protocolf("empty frame")
	}
	if n > int64(maxSize) {
		return status.Protocolf("frame of %d bytes exceeds the limit of %d bytes", n, maxSize)
	}
	return nil
}

var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// Encode writes msg, encoded by c, into w after hdr bytes of header space,
// and returns the written frame (header space included) for the caller to
// fill the header in place before the next write to w.
//
// When c knows the exact size, the frame is reserved once with Malloc and
// encoded in place; otherwise msg is encoded into a pooled buffer and copied.
func Encode(w Writer, c codec.Codec, msg *codec.Message, hdr int) ([]byte, error) {
	if n := c.Size(msg); n >= 0 {
		buf, err := w.Malloc(hdr + n)
		if err != nil {
			return nil, err
		}
		out, err := c.Append(buf[hdr:hdr:hdr+n], msg)
		if err != nil {
			return nil, err
		}
		if len(out) != n {
			return nil, status.Protocolf("codec %s: Size said %d bytes, Append wrote %d", c.Name(), n, len(out))
		}
		return buf, nil
	}
	bp := scratch.Get().(*[]byte)
	defer scratch.Put(bp)
	b := append((*bp)[:0], make([]byte, hdr)...)
	b, err := c.Append(b, msg)
	*bp = b[:0]
	if err != nil {
		return nil, err
	}
	buf, err := w.Malloc(len(b))
	if err != nil {
		return nil, err
	}
	copy(buf, b)
	return buf, nil
}
