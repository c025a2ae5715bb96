package protocodec_test

import (
	"fmt"

	"google.golang.org/protobuf/types/known/wrapperspb"

	protocodec "github.com/skiffrpc/skiff/codec-protobuf"
	"github.com/skiffrpc/skiff/core/codec"
)

// A Kitex Protobuf call to method Echo: the codec writes the envelope and
// the protobuf message into one buffer of the exact size, then reads the
// envelope (to find the method) and the payload.
func Example() {
	req := &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: wrapperspb.String("hello")}
	buf := make([]byte, 0, protocodec.Codec.Size(req))
	buf, err := protocodec.Codec.Append(buf, req)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", buf)

	var got codec.Message
	n, err := protocodec.Codec.DecodeEnvelope(buf, &got)
	if err != nil {
		panic(err)
	}
	value := &wrapperspb.StringValue{}
	got.Payload = value
	if err := protocodec.Codec.DecodePayload(buf[n:], &got); err != nil {
		panic(err)
	}
	fmt.Println(got.Type, got.Method, got.SeqID, value.GetValue())
	// Output:
	// 90 01 00 01 00 00 00 04 45 63 68 6f 00 00 00 01 0a 05 68 65 6c 6c 6f
	// call Echo 1 hello
}
