package ttheader

import (
	"encoding/binary"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
)

// FramedPayload is the bit that ReadMessage sets in [codec.Message].ProtocolID
// when the payload after the header carried its own u32 length
// (TTHeader+Framed). WriteMessage writes the framed form when the bit is
// set, whichever of the two protocols writes, and never puts the bit on
// the wire (TTHeader protocol ids are below 0x80). This is how a server
// answers in the form it was asked in: the runtime keeps msg.ProtocolID
// between reading a request and writing its reply.
const FramedPayload uint8 = 0x80

// Protocol is a TTHeader transport protocol. The two values of this
// package, [TTHeader] and [TTHeaderFramed], differ only in the form they
// write when the message does not name one (see [FramedPayload]); both
// read both forms. A Protocol is safe for concurrent use and has no state.
type Protocol struct {
	name   string
	framed bool
}

var _ transport.Protocol = (*Protocol)(nil)

// TTHeader is TTHeader with the message right after the header ("ttheader").
// Registered first, it is the protocol a server picks for TTHeader
// connections: it reads both forms and answers in the form of each
// request.
var TTHeader = &Protocol{name: "ttheader"}

// TTHeaderFramed is TTHeader with a u32 length between the header and the
// message ("ttheader-framed"), what Kitex clients send when asked for
// TTHeader (their default since v0.13) and always for Kitex Protobuf. It
// reads both forms and always writes the framed one.
var TTHeaderFramed = &Protocol{name: "ttheader-framed", framed: true}

func init() {
	transport.Register(TTHeader)
	transport.Register(TTHeaderFramed)
}

// Name returns "ttheader" or "ttheader-framed".
func (p *Protocol) Name() string { return p.name }

// Framed reports whether p writes TTHeader+Framed by default.
func (p *Protocol) Framed() bool { return p.framed }

// Detect reports whether prefix starts a TTHeader frame: bytes 4 and 5 are
// the magic 0x1000 and, when the flags are there, the streaming flag
// (TTHeader Streaming, another transport) is clear. Eight bytes cannot tell
// TTHeader from TTHeader+Framed, so both protocols detect the same frames;
// either reads both.
func (p *Protocol) Detect(prefix []byte) bool {
	if len(prefix) < 6 || prefix[0]&0x80 != 0 || prefix[4] != 0x10 || prefix[5] != 0x00 {
		return false
	}
	return len(prefix) < 8 || binary.BigEndian.Uint16(prefix[6:])&FlagStreaming == 0
}

// CarriesOutOfOrder implements transport.OutOfOrderCarrier: TTHeader's
// flag 0x0001 carries codec.Message.OutOfOrder.
func (p *Protocol) CarriesOutOfOrder() bool { return true }

// ReadMessage reads one TTHeader or TTHeader+Framed frame from r and
// returns the message bytes in it (valid until r.Release), without the
// inner u32 length of the framed form.
//
// It checks the fixed header before reading the rest of the frame: a
// frame whose LENGTH exceeds maxSize (0 means
// [transport.DefaultMaxFrameSize]), a bad magic or a header size pointing
// past the frame is a protocol error and nothing past the fixed header is
// consumed. It appends the header's key/values to msg.Meta (see
// [DecodeHeader]), sets msg.ProtocolID to the header's protocol id (its
// top bit cleared) with [FramedPayload] added when the payload was framed, and sets msg.SeqID
// to the header's sequence id and msg.OutOfOrder to its
// [FlagSupportOutOfOrder] flag. The codec's DecodeEnvelope then overwrites
// SeqID with the message's own (Kitex writes the same value in both).
//
// The payload is framed when its bytes 4 and 5 are a Thrift (0x8001) or
// Kitex Protobuf (0x9001) magic and its first four bytes are the length
// of the rest, as Kitex detects it.
func (p *Protocol) ReadMessage(r transport.Reader, msg *codec.Message, maxSize int) ([]byte, error) {
	fixed, err := r.Peek(FixedLen)
	if err != nil {
		return nil, err
	}
	h, err := PeekHeader(fixed)
	if err != nil {
		return nil, err
	}
	if err := transport.CheckFrameSize(int64(h.Length), maxSize); err != nil {
		return nil, err
	}
	frame, err := r.Next(4 + int(h.Length))
	if err != nil {
		return nil, err
	}
	msg.Size = len(frame)
	if h, err = DecodeHeader(frame, &msg.Meta); err != nil {
		return nil, err
	}
	payload := frame[FixedLen+h.InfoSize:]
	msg.SeqID = h.SeqID
	msg.OutOfOrder = h.Flags&FlagSupportOutOfOrder != 0
	if isn, ok := msg.Meta.Str(KeyIDLServiceName); ok {
		msg.Service = isn // routes the call on multi-service servers
	}
	if _, ok := msg.Meta.Str(KeyConnReset); ok {
		msg.ConnReset = true
	}
	msg.ProtocolID = h.ProtocolID &^ FramedPayload
	if framedPayload(payload) {
		msg.ProtocolID |= FramedPayload
		payload = payload[4:]
	}
	return payload, nil
}

// framedPayload reports whether b is a u32 length and a Thrift or Kitex
// Protobuf message of that length.
func framedPayload(b []byte) bool {
	if len(b) < 8 || (b[4] != 0x80 && b[4] != 0x90) || b[5] != 0x01 {
		return false
	}
	return int64(binary.BigEndian.Uint32(b)) == int64(len(b)-4)
}

// WriteMessage writes msg, encoded by c, as one frame into w without
// flushing: a header with msg.SeqID, protocol id msg.ProtocolID (without
// [FramedPayload]), flags 0 ([FlagSupportOutOfOrder] when msg.OutOfOrder,
// which Kitex never sets for unary calls) and the key/values of msg.Meta (see
// [HeaderLen] for the block layout), then, in the framed form, the u32
// length of the message, then the message. The framed form is written by
// [TTHeaderFramed] and whenever msg.ProtocolID has FramedPayload.
//
// When c knows the message's size, the whole frame is reserved with one
// Malloc and encoded in place.
func (p *Protocol) WriteMessage(w transport.Writer, msg *codec.Message, c codec.Codec) error {
	if msg.ConnReset {
		msg.Meta.SetStr(KeyConnReset, "1")
	}
	hlen, err := HeaderLen(&msg.Meta)
	if err != nil {
		return err
	}
	framed := p.framed || msg.ProtocolID&FramedPayload != 0
	extra := 0
	if framed {
		extra = 4
	}
	frame, err := transport.Encode(w, c, msg, hlen+extra)
	if err != nil {
		return err
	}
	n := len(frame) - hlen // payload bytes after the header, inner length included
	if int64(len(frame))-4 > MaxFrameSize {
		return status.Protocolf("ttheader: frame of %d bytes exceeds %d", len(frame), MaxFrameSize)
	}
	var flags uint16
	if msg.OutOfOrder {
		flags = FlagSupportOutOfOrder
	}
	PutHeader(frame[:hlen], Header{Flags: flags, SeqID: msg.SeqID, ProtocolID: msg.ProtocolID &^ FramedPayload}, &msg.Meta, n)
	if framed {
		binary.BigEndian.PutUint32(frame[hlen:], uint32(n-4))
	}
	return nil
}
