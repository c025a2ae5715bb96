package thriftcodec

import (
	"encoding/binary"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
)

// Framed is the Framed transport (a u32 length, then the message): the
// Kitex client default and Apache Thrift's TFramedTransport. It is core's
// [transport.Framed], named here so Thrift users find it beside [Buffered].
var Framed = transport.Framed

// Buffered is the unframed transport (Kitex's PurePayload, Apache Thrift's
// TBufferedTransport), registered under the name "buffered": each message is
// a bare strict Thrift Binary message with no length prefix and no
// metadata. It is stateless and safe for concurrent use.
//
// ReadMessage finds the end of a message by walking its envelope and struct
// over the bytes the reader has buffered, peeking further only as far as the
// message is known to extend, so it never blocks on bytes of the next
// message. It checks every length and type id on the way, bounds nesting by
// [MaxDepth] and the message by maxSize ([transport.DefaultMaxFrameSize]
// when maxSize <= 0), and returns the whole message (envelope included).
//
// Detect accepts a prefix that starts 0x80 0x01. Buffered implements
// [transport.CodecDetector]: its messages are always decoded by [Codec].
var Buffered transport.Protocol = buffered{}

type buffered struct{}

var (
	_ transport.Protocol      = buffered{}
	_ transport.CodecDetector = buffered{}
)

func (buffered) Name() string { return "buffered" }

func (buffered) Detect(prefix []byte) bool {
	return len(prefix) >= 2 && prefix[0] == 0x80 && prefix[1] == 0x01
}

func (buffered) Codec(*codec.Message) string { return "thrift" }

func (buffered) WriteMessage(w transport.Writer, msg *codec.Message, c codec.Codec) error {
	_, err := transport.Encode(w, c, msg, 0)
	return err
}

func (buffered) ReadMessage(r transport.Reader, msg *codec.Message, maxSize int) ([]byte, error) {
	if maxSize <= 0 {
		maxSize = transport.DefaultMaxFrameSize
	}
	var s scanner
	need, window := minMessageSize, peekWindow
	for {
		if need > maxSize {
			return nil, status.Protocolf("thrift: buffered message of at least %d bytes exceeds the limit of %d bytes", need, maxSize)
		}
		// Peek what the message needs, or more of what is already buffered:
		// up to a window that doubles each round, so that a large message
		// takes few rounds and a small one does not peek (and, on Netpoll,
		// possibly copy) everything pipelined behind it.
		n := min(max(need, min(r.Len(), window)), maxSize)
		window = 2 * max(n, window)
		b, err := r.Peek(n)
		if err != nil {
			return nil, err
		}
		need, err = s.scan(b, maxSize)
		if err != nil {
			return nil, err
		}
		if need == 0 {
			msg.Size = s.off
			return r.Next(s.off)
		}
	}
}

// peekWindow is how much of what is buffered ReadMessage peeks at first.
const peekWindow = 4096

// scanFrame is one open struct or container of a message being scanned.
type scanFrame struct {
	kind byte // TypeStruct, TypeList (lists and sets) or TypeMap
	kt   byte // element type (list) or key type (map)
	vt   byte // value type (map)
	left int  // elements left (list) or keys and values left (map)
}

// scanner finds the length of a strict message in a growing prefix of it.
// It resumes where it stopped, so each byte is looked at once however the
// message arrives.
type scanner struct {
	off     int // bytes of the message scanned so far
	started bool
	depth   int
	stack   [MaxDepth]scanFrame
}

// scan continues over b, a longer prefix of the same message each time. It
// returns 0 when the message ends at s.off, or the length b must reach to
// go on.
func (s *scanner) scan(b []byte, maxSize int) (int, error) {
	if !s.started {
		if len(b) < minMessageSize {
			return minMessageSize, nil
		}
		_, nl, err := parseHeader(b)
		if err != nil {
			return 0, err
		}
		if end := 12 + nl + StopSize; end > len(b) {
			return end, nil
		}
		s.started = true
		s.off = 12 + nl
		s.stack[0] = scanFrame{kind: TypeStruct}
		s.depth = 1
	}
	for s.depth > 0 {
		f := &s.stack[s.depth-1]
		var t byte
		p := s.off
		switch f.kind {
		case TypeStruct:
			if p >= len(b) {
				return p + 1, nil
			}
			t = b[p]
			if t == TypeStop {
				s.off++
				s.depth--
				continue
			}
			p += FieldHeaderSize
		case TypeList:
			if f.left == 0 {
				s.depth--
				continue
			}
			t = f.kt
		default: // TypeMap
			if f.left == 0 {
				s.depth--
				continue
			}
			t = f.vt
			if f.left&1 == 0 {
				t = f.kt
			}
		}
		// One step: the field header (in a struct) and a whole primitive
		// value, or a container header.
		if t >= TypeStruct && t <= TypeList && s.depth >= MaxDepth {
			return 0, errDepth
		}
		var push scanFrame
		end := p
		switch t {
		case TypeBool, TypeByte, TypeDouble, TypeI16, TypeI32, TypeI64, TypeUUID:
			end += fixedSize(t)
		case TypeString:
			if len(b) < p+4 {
				return p + 4, nil
			}
			l := int32(binary.BigEndian.Uint32(b[p:]))
			if l < 0 {
				return 0, errNegLen
			}
			if int64(l) > int64(maxSize-p-4) {
				return 0, status.Protocolf("thrift: string of %d bytes exceeds the message limit of %d bytes", l, maxSize)
			}
			end += 4 + int(l)
		case TypeStruct:
			push = scanFrame{kind: TypeStruct}
		case TypeList, TypeSet:
			end += ListHeaderSize
			if len(b) < end {
				return end, nil
			}
			et, c := b[p], int32(binary.BigEndian.Uint32(b[p+1:]))
			if err := checkCount("list", c, et, 0, maxSize-end); err != nil {
				return 0, err
			}
			if es := fixedSize(et); es > 0 {
				end += int(c) * es // checkCount bounded it by maxSize
			} else if c > 0 {
				push = scanFrame{kind: TypeList, kt: et, left: int(c)}
			}
		case TypeMap:
			end += MapHeaderSize
			if len(b) < end {
				return end, nil
			}
			kt, vt, c := b[p], b[p+1], int32(binary.BigEndian.Uint32(b[p+2:]))
			if err := checkCount("map", c, kt, vt, maxSize-end); err != nil {
				return 0, err
			}
			if ks, vs := fixedSize(kt), fixedSize(vt); ks > 0 && vs > 0 {
				end += int(c) * (ks + vs)
			} else if c > 0 {
				push = scanFrame{kind: TypeMap, kt: kt, vt: vt, left: 2 * int(c)}
			}
		default:
			return 0, errType(t)
		}
		if end > len(b) {
			return end, nil
		}
		if f.kind != TypeStruct {
			f.left--
		}
		s.off = end
		if push.kind != 0 {
			s.stack[s.depth] = push
			s.depth++
		}
	}
	return 0, nil
}

// checkCount checks a container count c against the bytes that may still
// follow: left. vt is 0 for lists and sets. A non-empty container needs
// valid element types.
func checkCount(what string, c int32, kt, vt byte, left int) error {
	if c < 0 {
		return errNegLen
	}
	if c == 0 {
		return nil
	}
	m := minSize(kt)
	if m == 0 {
		return errType(kt)
	}
	if what == "map" {
		vm := minSize(vt)
		if vm == 0 {
			return errType(vt)
		}
		m += vm
	}
	if int64(c)*int64(m) > int64(left) {
		return status.Protocolf("thrift: %s of %d elements exceeds the message limit", what, c)
	}
	return nil
}
