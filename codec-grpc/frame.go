package grpccodec

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"sync"

	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// DefaultMaxRecvMsgSize is the default bound on a received message, after
// decompression: 4 MiB, as in grpc-go.
const DefaultMaxRecvMsgSize = 4 << 20

// FrameHeaderLen is the length of a message's prefix: a compressed flag and
// a big-endian 32-bit length.
const FrameHeaderLen = 5

// AppendFrame appends one length-prefixed message to dst: the compressed
// flag (1 when compressed), the payload length and the payload.
func AppendFrame(dst []byte, compressed bool, payload []byte) []byte {
	var flag byte
	if compressed {
		flag = 1
	}
	dst = append(dst, flag, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[len(dst)-4:], uint32(len(payload)))
	return append(dst, payload...)
}

// FrameReader reads length-prefixed messages from a stream. It buffers
// reads, so a message that arrives in several pieces, or several messages
// in one, cost no extra copies. It is not safe for concurrent use.
//
// Over a transport stream that lends its buffered bytes
// ([stream.Lender], as h2transport's streams do), a message that has
// arrived whole is returned in place, without copying it at all. It stays
// lent, and counts against the peer's flow-control windows, until the
// next call of Next: read the next message (or io.EOF) soon after
// decoding one.
type FrameReader struct {
	r        io.Reader
	lender   stream.Lender // r, when it lends
	loan     int           // bytes of r's current loan to consume; 0: no loan
	max      int
	buf      []byte
	off, end int
	pooled   *[]byte // the pool's buffer while buf is it
}

// NewFrameReader returns a reader of the messages in r that rejects a
// message longer than max bytes (max <= 0 means [DefaultMaxRecvMsgSize]).
func NewFrameReader(r io.Reader, max int) *FrameReader {
	fr := &FrameReader{}
	fr.reset(r, max)
	return fr
}

func (fr *FrameReader) reset(r io.Reader, max int) {
	if max <= 0 {
		max = DefaultMaxRecvMsgSize
	}
	fr.r, fr.max, fr.off, fr.end = r, max, 0, 0
	fr.lender, _ = r.(stream.Lender)
	fr.loan = 0
}

// endLoan consumes the message lent last, if one is.
func (fr *FrameReader) endLoan() {
	if fr.loan > 0 {
		n := fr.loan
		fr.loan = 0
		fr.lender.Consume(n)
	}
}

// nextLent returns the next message in place when the transport has all
// of it buffered (ok); otherwise it consumes nothing, and Next reads the
// message by copying. A read error is returned as it is (io.EOF at the
// end of the stream).
func (fr *FrameReader) nextLent() (compressed bool, payload []byte, ok bool, err error) {
	b, err := fr.lender.Lend()
	if err != nil {
		return false, nil, true, err
	}
	if len(b) >= FrameHeaderLen && b[0] <= 1 {
		n := binary.BigEndian.Uint32(b[1:FrameHeaderLen])
		if uint64(n) <= uint64(fr.max) && uint64(n) <= uint64(len(b)-FrameHeaderLen) {
			end := FrameHeaderLen + int(n)
			fr.loan = end
			return b[0] == 1, b[FrameHeaderLen:end:end], true, nil
		}
	}
	// Not all here (or not valid: the copying path tells why).
	fr.lender.Consume(0)
	return false, nil, false, nil
}

// readBufSize is the size of a FrameReader's first buffer.
const readBufSize = 4 << 10

// maxPooledBuf bounds the buffers that go back to the pools, so a rare
// large message does not pin its memory.
const maxPooledBuf = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, readBufSize); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// release returns the reader's buffer to the pool; payloads it returned
// become invalid.
func (fr *FrameReader) release() {
	fr.endLoan()
	fr.unpool()
	fr.buf, fr.r, fr.lender, fr.off, fr.end = nil, nil, nil, 0, 0
}

// unpool returns the pool's buffer.
func (fr *FrameReader) unpool() {
	if fr.pooled != nil {
		*fr.pooled = fr.buf[:0]
		putBuf(fr.pooled)
		fr.pooled = nil
	}
}

// buffered is implemented by stream transports that can tell how many
// received bytes a Read would return at once (h2transport's streams).
type buffered interface {
	Buffered() int
}

// fill reads until at least n bytes are buffered. It returns io.EOF when
// the stream ends with nothing buffered, and io.ErrUnexpectedEOF when it
// ends inside a message.
func (fr *FrameReader) fill(n int) error {
	if fr.end-fr.off >= n {
		return nil
	}
	if fr.buf == nil {
		b := getBuf()
		fr.buf, fr.pooled = (*b)[:cap(*b)], b
	}
	if len(fr.buf)-fr.off < n && fr.off > 0 {
		copy(fr.buf, fr.buf[fr.off:fr.end])
		fr.end -= fr.off
		fr.off = 0
	}
	for fr.end-fr.off < n {
		if fr.end == len(fr.buf) {
			// Grow with the data that has arrived, never past n: a length
			// prefix alone does not reserve the message's memory. Data the
			// stream has received already counts: a message that arrived
			// whole takes one allocation.
			size := 2 * len(fr.buf)
			if b, ok := fr.r.(buffered); ok {
				size = max(size, fr.end-fr.off+b.Buffered())
			}
			nb := make([]byte, min(n, size))
			copy(nb, fr.buf[fr.off:fr.end])
			fr.unpool()
			fr.buf, fr.end, fr.off = nb, fr.end-fr.off, 0
		}
		m, err := fr.r.Read(fr.buf[fr.end:])
		fr.end += m
		if err != nil {
			if fr.end-fr.off >= n {
				return nil
			}
			if errors.Is(err, io.EOF) {
				if fr.end == fr.off {
					return io.EOF
				}
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// Next returns the next message: whether it is compressed, and its bytes,
// valid until the next call. At the end of the stream it returns io.EOF; a
// stream that ends inside a message gives an Internal *status.Error, a
// message longer than the maximum a ResourceExhausted one, and an invalid
// compressed flag an Internal one. Errors of the underlying reader are
// returned as they are.
func (fr *FrameReader) Next() (compressed bool, payload []byte, err error) {
	fr.endLoan()
	if fr.lender != nil && fr.off == fr.end {
		compressed, payload, ok, err := fr.nextLent()
		if ok {
			return compressed, payload, err
		}
	}
	if err := fr.fill(FrameHeaderLen); err != nil {
		return false, nil, frameErr(err)
	}
	h := fr.buf[fr.off : fr.off+FrameHeaderLen]
	switch h[0] {
	case 0:
	case 1:
		compressed = true
	default:
		return false, nil, status.Protocolf("grpc: invalid compressed flag %d", h[0])
	}
	n := binary.BigEndian.Uint32(h[1:])
	if uint64(n) > uint64(fr.max) {
		return false, nil, status.Errorf(status.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, fr.max)
	}
	if err := fr.fill(FrameHeaderLen + int(n)); err != nil {
		return false, nil, frameErr(err)
	}
	start := fr.off + FrameHeaderLen
	fr.off = start + int(n)
	if fr.off == fr.end {
		fr.off, fr.end = 0, 0
	}
	return compressed, fr.buf[start : start+int(n) : start+int(n)], nil
}

func frameErr(err error) error {
	if err == io.ErrUnexpectedEOF {
		return status.Protocolf("grpc: stream ended inside a message")
	}
	return err
}

// maxFrameLen is the largest payload a length prefix can describe.
const maxFrameLen = math.MaxUint32
