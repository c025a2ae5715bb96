package ttheader

import (
	"encoding/binary"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// Wire constants of TTHeader (all integers big-endian).
const (
	// Magic is the u16 at offset 4 of every TTHeader frame. Apache
	// THeader's 0x0FFF is a different, incompatible protocol.
	Magic = 0x1000
	// FixedLen is the length of the fixed part of a header: LENGTH (4),
	// magic (2), flags (2), sequence id (4) and header size (2). The info
	// area follows it.
	FixedLen = 14
	// MaxInfoSize is the largest info area (protocol id, transforms, info
	// blocks and padding) in bytes, Kitex's MaxHeaderSize. Larger headers
	// are rejected on encode and on decode.
	MaxInfoSize = 65536
	// MaxFrameSize is the largest LENGTH field Kitex accepts (0x3FFFFFFF).
	MaxFrameSize = 0x3FFFFFFF
	// ACLTokenKey is the string key under which the ACL token block (0x11)
	// appears in [codec.Metadata], as in Kitex.
	ACLTokenKey = "RPC_TRANSIT_gdpr-token"
)

// Info block ids.
const (
	infoPadding  = 0x00
	infoKeyValue = 0x01
	infoIntKV    = 0x10
	infoACLToken = 0x11
)

// Flags of the TTHeader flags field.
const (
	// FlagSupportOutOfOrder says the sender accepts replies in any order
	// (multiplexing by sequence id).
	FlagSupportOutOfOrder uint16 = 0x0001
	// FlagStreaming marks a TTHeader Streaming (ttstream) frame; this
	// package's protocols do not detect such frames.
	FlagStreaming uint16 = 0x0002
)

// Header is the fixed part of a TTHeader frame. Its info blocks (string
// and int key/values, ACL token) travel separately in a [codec.Metadata].
type Header struct {
	// Length is the LENGTH field: the bytes after it (header rest plus
	// payload). [PutHeader] ignores it and writes the length it is given.
	Length uint32
	// Flags is the flags field (Kitex writes 0 for unary calls).
	Flags uint16
	// SeqID is the header's sequence id.
	SeqID int32
	// ProtocolID is the payload protocol id: 0 Thrift Binary (Kitex writes
	// 0 for Kitex Protobuf too), 2 and 3 Thrift Compact, 4 Kitex Protobuf.
	ProtocolID uint8
	// InfoSize is the size in bytes of the info area (4 × the header size
	// field). [PutHeader] ignores it.
	InfoSize int
}

// HeaderLen returns the encoded length in bytes of a header carrying meta
// (nil means no metadata): [FixedLen] plus the info area padded to a
// multiple of 4. It returns a protocol error when a key or value is longer
// than 65535 bytes, a block has more than 65535 entries, or the info area
// exceeds [MaxInfoSize].
//
// The string key [ACLTokenKey] goes into an ACL token block, the other
// string keys into one INFO_KEYVALUE block and the int keys into one
// INFO_INTKEYVALUE block; empty blocks are left out.
func HeaderLen(meta *codec.Metadata) (int, error) {
	n := 2 // protocol id, transform count
	if meta != nil {
		acl, strs := false, 0
		sz := 0
		for i := range meta.Strs {
			kv := &meta.Strs[i]
			if len(kv.Value) > 0xFFFF {
				return 0, status.Protocolf("ttheader: value of string key %q is %d bytes, over 65535", clipKey(kv.Key), len(kv.Value))
			}
			if kv.Key == ACLTokenKey && !acl {
				acl = true
				n += 1 + 2 + len(kv.Value)
				continue
			}
			if len(kv.Key) > 0xFFFF {
				return 0, status.Protocolf("ttheader: string key of %d bytes, over 65535", len(kv.Key))
			}
			strs++
			sz += 4 + len(kv.Key) + len(kv.Value)
		}
		if strs > 0xFFFF || len(meta.Ints) > 0xFFFF {
			return 0, status.Protocolf("ttheader: more than 65535 keys in one info block")
		}
		if strs > 0 {
			n += 3 + sz
		}
		if len(meta.Ints) > 0 {
			n += 3
			for i := range meta.Ints {
				v := meta.Ints[i].Value
				if len(v) > 0xFFFF {
					return 0, status.Protocolf("ttheader: value of int key %d is %d bytes, over 65535", meta.Ints[i].Key, len(v))
				}
				n += 4 + len(v)
			}
		}
	}
	n = (n + 3) &^ 3
	if n > MaxInfoSize {
		return 0, status.Protocolf("ttheader: header info of %d bytes exceeds %d", n, MaxInfoSize)
	}
	return FixedLen + n, nil
}

// PutHeader writes a header with h's Flags, SeqID and ProtocolID and the
// key/values of meta (nil means none) into dst, which must be exactly
// [HeaderLen](meta) bytes long (PutHeader panics if it is shorter).
// payloadLen is the number of bytes that follow the header in the frame;
// the LENGTH field is set to len(dst) - 4 + payloadLen. Padding bytes are
// written as zeros, so dst may hold garbage.
func PutHeader(dst []byte, h Header, meta *codec.Metadata, payloadLen int) {
	be := binary.BigEndian
	_ = dst[FixedLen+1]
	be.PutUint32(dst[0:], uint32(len(dst)-4+payloadLen))
	be.PutUint16(dst[4:], Magic)
	be.PutUint16(dst[6:], h.Flags)
	be.PutUint32(dst[8:], uint32(h.SeqID))
	be.PutUint16(dst[12:], uint16((len(dst)-FixedLen)/4))
	dst[14] = h.ProtocolID
	dst[15] = 0 // no transforms
	i := 16
	if meta != nil {
		strs := 0
		acl := -1
		for j := range meta.Strs {
			if meta.Strs[j].Key == ACLTokenKey && acl < 0 {
				acl = j
				continue
			}
			strs++
		}
		if acl >= 0 {
			dst[i] = infoACLToken
			i = putStr16(dst, i+1, meta.Strs[acl].Value)
		}
		if strs > 0 {
			dst[i] = infoKeyValue
			be.PutUint16(dst[i+1:], uint16(strs))
			i += 3
			for j := range meta.Strs {
				if j == acl {
					continue
				}
				i = putStr16(dst, i, meta.Strs[j].Key)
				i = putStr16(dst, i, meta.Strs[j].Value)
			}
		}
		if len(meta.Ints) > 0 {
			dst[i] = infoIntKV
			be.PutUint16(dst[i+1:], uint16(len(meta.Ints)))
			i += 3
			for j := range meta.Ints {
				be.PutUint16(dst[i:], meta.Ints[j].Key)
				i = putStr16(dst, i+2, meta.Ints[j].Value)
			}
		}
	}
	clear(dst[i:])
}

func putStr16(dst []byte, i int, s string) int {
	binary.BigEndian.PutUint16(dst[i:], uint16(len(s)))
	return i + 2 + copy(dst[i+2:], s)
}

// AppendHeader appends a header (see [PutHeader]) to dst.
func AppendHeader(dst []byte, h Header, meta *codec.Metadata, payloadLen int) ([]byte, error) {
	n, err := HeaderLen(meta)
	if err != nil {
		return dst, err
	}
	dst = grow(dst, n)
	PutHeader(dst[len(dst)-n:], h, meta, payloadLen)
	return dst, nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// PeekHeader checks the fixed part of a header, the first [FixedLen] bytes
// of b, and returns it, without reading the info area. It fails with a
// protocol error when b is shorter than FixedLen, the magic is wrong, the
// LENGTH field exceeds [MaxFrameSize], the info area is smaller than 2 or
// larger than [MaxInfoSize] bytes, or the header points past the frame (or
// leaves no room for a payload).
func PeekHeader(b []byte) (Header, error) {
	if len(b) < FixedLen {
		return Header{}, status.Protocolf("ttheader: %d bytes, header needs %d", len(b), FixedLen)
	}
	be := binary.BigEndian
	if m := be.Uint16(b[4:]); m != Magic {
		return Header{}, status.Protocolf("ttheader: bad magic %#04x", m)
	}
	h := Header{
		Length:   be.Uint32(b),
		Flags:    be.Uint16(b[6:]),
		SeqID:    int32(be.Uint32(b[8:])),
		InfoSize: int(be.Uint16(b[12:])) * 4,
	}
	if h.Length > MaxFrameSize {
		return Header{}, status.Protocolf("ttheader: frame length %d exceeds %d", h.Length, MaxFrameSize)
	}
	if h.InfoSize < 4 || h.InfoSize > MaxInfoSize {
		return Header{}, status.Protocolf("ttheader: header info size %d out of range [4, %d]", h.InfoSize, MaxInfoSize)
	}
	if hl, fl := int64(h.InfoSize)+FixedLen, int64(h.Length)+4; hl > fl {
		return Header{}, status.Protocolf("ttheader: header of %d bytes points past the frame of %d bytes", hl, fl)
	} else if hl == fl {
		return Header{}, status.Protocolf("ttheader: frame of %d bytes has no payload", fl)
	}
	return h, nil
}

// DecodeHeader decodes the header at the start of b, which must hold at
// least the whole header ([FixedLen] + info area bytes; the payload need
// not be there). It returns the header and appends its key/values to meta
// in wire order: the ACL token as string key [ACLTokenKey], string
// key/values to meta.Strs, int key/values to meta.Ints. Existing entries of
// meta are kept; call meta.Reset first to replace them.
//
// With a nil meta the info blocks are checked and skipped and DecodeHeader
// does not allocate. Otherwise the stored keys and values share one copy of
// the info area: one allocation per header (plus the growth of meta's
// slices), which stays alive while any of those strings does.
//
// Every length is bounded by the info area: a block or string that runs
// past it, an unknown info id or a transform list past it is a protocol
// error ([status.ErrProtocol]), as are the errors of [PeekHeader].
func DecodeHeader(b []byte, meta *codec.Metadata) (Header, error) {
	h, err := PeekHeader(b)
	if err != nil {
		return h, err
	}
	end := FixedLen + h.InfoSize
	if len(b) < end {
		return h, status.Protocolf("ttheader: %d bytes, header needs %d", len(b), end)
	}
	info := b[FixedLen:end]
	h.ProtocolID = info[0]
	if _, err := decodeInfo(info, meta); err != nil {
		return h, err
	}
	return h, nil
}

// decodeInfo decodes an info area (protocol id, transforms, info blocks)
// and appends its key/values to meta (nil: check only). It returns the
// protocol id.
func decodeInfo(info []byte, meta *codec.Metadata) (uint8, error) {
	var err error
	i := 2 + int(info[1])
	if i > len(info) {
		return 0, status.Protocolf("ttheader: %d transforms run past the header info of %d bytes", info[1], len(info))
	}
	// Stored keys and values are substrings of one copy of the info area:
	// one allocation per header, whatever the number of keys.
	var str string
	copyInfo := func() {
		if str == "" {
			str = string(info)
		}
	}
	be := binary.BigEndian
	for i < len(info) {
		id := info[i]
		i++
		switch id {
		case infoPadding:
		case infoKeyValue, infoIntKV:
			if len(info)-i < 2 {
				return 0, status.Protocolf("ttheader: info block %#02x count runs past the header", id)
			}
			n := int(be.Uint16(info[i:]))
			i += 2
			for range n {
				var key uint16
				var ks, ke, vs, ve int
				if id == infoIntKV {
					if len(info)-i < 2 {
						return 0, status.Protocolf("ttheader: int key runs past the header")
					}
					key = be.Uint16(info[i:])
					i += 2
				} else if ks, ke, i, err = str16(info, i, "key"); err != nil {
					return 0, err
				}
				if vs, ve, i, err = str16(info, i, "value"); err != nil {
					return 0, err
				}
				if meta == nil {
					continue
				}
				copyInfo()
				if id == infoIntKV {
					meta.Ints = append(meta.Ints, codec.IntKV{Key: key, Value: str[vs:ve]})
				} else {
					meta.Strs = append(meta.Strs, codec.StrKV{Key: str[ks:ke], Value: str[vs:ve]})
				}
			}
		case infoACLToken:
			var vs, ve int
			if vs, ve, i, err = str16(info, i, "ACL token"); err != nil {
				return 0, err
			}
			if meta != nil {
				copyInfo()
				meta.Strs = append(meta.Strs, codec.StrKV{Key: ACLTokenKey, Value: str[vs:ve]})
			}
		default:
			return 0, status.Protocolf("ttheader: unknown info id %#02x", id)
		}
	}
	return info[0], nil
}

// str16 reads a u16-length string at b[i:] and returns its bounds and the
// index after it.
func str16(b []byte, i int, what string) (start, end, next int, err error) {
	if len(b)-i < 2 {
		return 0, 0, i, status.Protocolf("ttheader: %s length runs past the header", what)
	}
	n := int(binary.BigEndian.Uint16(b[i:]))
	i += 2
	if len(b)-i < n {
		return 0, 0, i, status.Protocolf("ttheader: %s of %d bytes runs past the header", what, n)
	}
	return i, i + n, i + n, nil
}

func clipKey(k string) string {
	if len(k) > 32 {
		return k[:32] + "..."
	}
	return k
}
