package thriftcodec_test

import (
	"fmt"

	tc "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
)

// A Thrift CALL of method "Echo", sequence id 1, with an empty argument
// struct: the envelope, then the struct's STOP byte.
func ExampleCodec() {
	msg := &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 1}
	b, err := tc.Codec.Append(nil, msg)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)

	var got codec.Message
	n, err := tc.Codec.DecodeEnvelope(b, &got)
	fmt.Println(got.Type, got.Method, got.SeqID, n, err)
	// Output:
	// 80 01 00 01 00 00 00 04 45 63 68 6f 00 00 00 01 00
	// call Echo 1 16 <nil>
}

// An exception reply built with ApplicationError decodes into a remote
// *status.Error with the same TApplicationException type.
func ExampleApplicationError() {
	out := &codec.Message{
		Type:   codec.Exception,
		Method: "Nope",
		SeqID:  7,
		Err:    tc.ApplicationError(tc.UnknownMethod, "unknown method Nope"),
	}
	b, _ := tc.Codec.Append(nil, out)

	var in codec.Message
	n, _ := tc.Codec.DecodeEnvelope(b, &in)
	_ = tc.Codec.DecodePayload(b[n:], &in)
	fmt.Println(in.Err)
	fmt.Println(in.Err.Code(), in.Err.TypeID() == tc.UnknownMethod)
	// Output:
	// remote: unimplemented: unknown method Nope
	// unimplemented true
}

// Generated FastAppend methods are built from the append helpers.
func ExampleAppendFieldBegin() {
	var b []byte
	b = tc.AppendFieldBegin(b, tc.TypeI32, 1)
	b = tc.AppendI32(b, 7)
	b = tc.AppendFieldStop(b)
	fmt.Printf("% x\n", b)

	t, id, n, _ := tc.ReadFieldBegin(b)
	v, _, _ := tc.ReadI32(b[n:])
	fmt.Println(t == tc.TypeI32, id, v)
	// Output:
	// 08 00 01 00 00 00 07 00
	// true 1 7
}
