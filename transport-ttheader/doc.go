// Package ttheader implements TTHeader, the transport protocol Kitex uses
// to carry metadata, byte for byte as Kitex v0.15 reads and writes it.
//
// A frame is a header followed by one message:
//
//	LENGTH u32 (bytes after it) | magic 0x1000 | flags u16 | seq i32 |
//	header size u16 (4-byte words) | protocol id u8 | transform count u8 |
//	info blocks: 0x11 ACL token, 0x01 string key/values, 0x10 int key/values |
//	zero padding to a multiple of 4 | [u32 length, TTHeader+Framed only] | message
//
// The two protocols, [TTHeader] ("ttheader") and [TTHeaderFramed]
// ("ttheader-framed"), register themselves with the core transport registry
// when the package is imported. Both read both forms (a Kitex server
// accepts both on one port, and eight peeked bytes cannot tell them apart);
// they differ in what they write. A request read in the framed form is
// answered in the framed form: see [FramedPayload].
//
// Header key/values travel in
// [github.com/skiffrpc/skiff/core/codec.Message].Meta: int keys in Meta.Ints,
// string keys in Meta.Strs, the ACL token under [ACLTokenKey]. This
// package frames them; what the keys mean (caller, callee, timeout,
// metainfo, business errors) is the runtime's business.
//
// # TTHeader Streaming (ttstream)
//
// [TTStream] ("ttstream") is Kitex's streaming transport, a core stream
// protocol (github.com/skiffrpc/skiff/core/stream): every frame is a
// TTHeader with flag 0x0002 whose sequence number is the stream id, with
// the frame type (meta, header, data, trailer, rst) in int key 27 and the
// method in int key 9 ([Frame], [AppendFrame], [DecodeFrame],
// [ReadFrame]). Many streams share a connection. It is registered with the
// core stream registry on import, so servers sniff it on their port; a
// client uses it with client.WithStreamTransport(ttheader.TTStream) and a
// stream codec such as codec-thrift's TTStream.
//
// Between Skiff peers, streams have flow control: a window per stream in
// each direction, with credit returned in [FrameWindow] frames as the
// receiver reads. It is negotiated per connection on stream 0 (see
// [KeyFlowWindow] and [WithStreamWindow]), so that Kitex peers, which
// have none, never see a frame they do not know.
//
// [HeaderLen], [PutHeader], [AppendHeader], [PeekHeader] and
// [DecodeHeader] give direct access to the header encoding. Decoding
// bounds every length by the header size and the frame and reports bad
// input as a protocol error
// ([github.com/skiffrpc/skiff/core/status.ErrProtocol]), never a panic.
package ttheader
