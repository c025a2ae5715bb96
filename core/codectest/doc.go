// Package codectest is the conformance kit for message codecs
// ([github.com/skiffrpc/skiff/core/codec.Codec]). A codec module runs [Run]
// from its own tests with a few messages of its own payload types:
//
//	func TestConformance(t *testing.T) {
//		codectest.Run(t, thriftcodec.Codec, []codectest.Case{{
//			Name:       "call",
//			Msg:        &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: &EchoArgs{Msg: "hi"}},
//			NewPayload: func() any { return new(EchoArgs) },
//		},
//			codectest.Exception("exception", status.Exception(status.TypeUnknownMethod, "no such method")),
//		})
//	}
//
// For each case Run checks Size against Append, that Append appends in
// place, the decode round trip (envelope and payload), that the decoded
// values do not alias the input bytes, Detect on the first bytes, and that
// truncated or corrupted encodings never make the decoder panic.
package codectest
