// Package toystream is a test double of a stream transport and a stream
// codec, so that core's runtime can be tested without HTTP/2 or gRPC (the
// real ones live in transport-http2 and codec-grpc and are tested there and
// in the tests module).
//
// Wire format, both directions: a connection starts with the client's
// 8-byte preface "TOYSTRM\n"; then frames of [u32 stream id][u8 kind][u32
// length][payload]. Kinds: 'H' header block (name=value lines), 'D' data,
// 'E' end of the client's side, 'T' trailer block ending the stream, 'R'
// reset. Messages inside data are [u32 length][bytes].
package toystream
