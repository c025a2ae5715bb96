package ttheader_test

import (
	"fmt"

	"github.com/skiffrpc/skiff/core/codec"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

func ExampleDecodeHeader() {
	var meta codec.Metadata
	meta.SetInt(9, "Echo")
	meta.SetStr("isn", "EchoService")
	hdr, err := ttheader.AppendHeader(nil, ttheader.Header{SeqID: 42}, &meta, 1)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", hdr[:16])

	var got codec.Metadata
	h, err := ttheader.DecodeHeader(append(hdr, 0x80), &got) // one payload byte
	if err != nil {
		panic(err)
	}
	method, _ := got.Int(9)
	svc, _ := got.Str("isn")
	fmt.Println(h.SeqID, h.InfoSize, method, svc)
	// Output:
	// 00 00 00 2f 10 00 00 00 00 00 00 2a 00 09 00 00
	// 42 36 Echo EchoService
}
