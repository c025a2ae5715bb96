// Package transporttest is the conformance kit for transport protocols
// ([github.com/skiffrpc/skiff/core/transport.Protocol]). A transport module
// runs [Run] against its protocol from its own tests:
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, ttheader.New(), mycodec.Codec, func() *codec.Message {
//			return &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: &Req{Msg: "hi"}}
//		})
//	}
//
// Run writes messages with the protocol into a [Buffer] and reads them back:
// round trip, several frames back to back, Detect on the first
// [github.com/skiffrpc/skiff/core/transport.DetectLen] bytes, the frame size
// limit, truncated and corrupted frames.
//
// [Buffer] is an in-memory transport.Reader and transport.Writer over one
// byte queue, usable on its own in unit tests. It never blocks: reading
// more than is buffered fails with io.ErrUnexpectedEOF. It overwrites memory
// that the Reader and Writer contracts say is no longer valid, so code that
// keeps a slice too long reads garbage in tests instead of working by
// chance.
package transporttest
