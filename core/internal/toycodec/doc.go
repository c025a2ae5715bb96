// Package toycodec is a minimal message codec for core's own unit tests:
// magic 0xAB, type byte, u16 method length, method, i32 sequence id, then
// the payload, which is a *Bytes or a codec.Raw (raw bytes; the codec is a
// codec.RawCarrier) or, for exceptions, an i32 type id and the message. The
// real codecs live in their own modules.
package toycodec
