package ttheader_test

import (
	"fmt"

	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// A ttstream data frame, as Kitex writes it: a TTHeader with the
// streaming flag, the stream id as sequence number, protocol id 0x10 and
// the frame type (int key 27) and method (int key 9).
func ExampleAppendFrame() {
	b, _ := ttheader.AppendFrame(nil, &ttheader.Frame{Type: ttheader.FrameData, StreamID: 1, Method: "Echo", Payload: []byte{0}})
	fmt.Printf("% x\n", b)
	var f ttheader.Frame
	_ = ttheader.DecodeFrame(b, &f)
	fmt.Println(f.Type == ttheader.FrameData, f.StreamID, f.Method, f.Payload)
	// Output:
	// 00 00 00 1f 10 00 00 02 00 00 00 01 00 05 10 00 10 00 02 00 1b 00 01 33 00 09 00 04 45 63 68 6f 00 00 00
	// true 1 Echo [0]
}

// The exception of an rst or trailer frame.
func ExampleDecodeException() {
	b := ttheader.AppendException(nil, "Echo", 1, &ttheader.Exception{TypeID: ttheader.TypeBizCancel, Message: "canceled"})
	e, err := ttheader.DecodeException(b)
	fmt.Println(e.TypeID, e.Message, err)
	// Output: 12007 canceled <nil>
}
