package kitexgeneric_test

import (
	"context"
	"testing"

	"github.com/cloudwego/dynamicgo/conv"
	"github.com/cloudwego/dynamicgo/conv/j2t"
	"github.com/cloudwego/dynamicgo/conv/t2j"
	dthrift "github.com/cloudwego/dynamicgo/thrift"

	"github.com/skiffrpc/skiff/generic"
)

// BenchmarkJSONConversion compares the conversions alone, without the
// network: the 1 KB request JSON to its Thrift struct and back, by
// Skiff's converter and by dynamicgo (Kitex's JSON generic fast path).
func BenchmarkJSONConversion(b *testing.B) {
	ctx := context.Background()
	req := benchJSON()

	idl, err := generic.LoadThriftFile(idlPath)
	if err != nil {
		b.Fatal(err)
	}
	m, err := generic.ThriftJSON(idl).Method("AllTypes", "echo")
	if err != nil {
		b.Fatal(err)
	}
	svc, err := dthrift.NewDescritorFromPath(ctx, idlPath)
	if err != nil {
		b.Fatal(err)
	}
	desc := svc.Functions()["echo"].Request().Struct().FieldById(1).Type()
	j2tConv, t2jConv := j2t.NewBinaryConv(conv.Options{}), t2j.NewBinaryConv(conv.Options{})

	// The Thrift struct of the request (without the args wrapper).
	thriftReq, err := j2tConv.Do(ctx, desc, []byte(req))
	if err != nil {
		b.Fatal(err)
	}
	args, err := m.EncodeRequest(nil, req)
	if err != nil {
		b.Fatal(err)
	}
	if string(args[3:len(args)-1]) != string(thriftReq) {
		b.Fatal("the converters disagree on the request's Thrift bytes")
	}
	b.Run("json-to-thrift/skiff", func(b *testing.B) {
		buf := make([]byte, 0, 2048)
		b.SetBytes(int64(len(req)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.EncodeRequest(buf[:0], req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-to-thrift/dynamicgo", func(b *testing.B) {
		buf := make([]byte, 0, 2048)
		src := []byte(req)
		b.SetBytes(int64(len(req)))
		b.ReportAllocs()
		for b.Loop() {
			buf = buf[:0]
			if err := j2tConv.DoInto(ctx, desc, src, &buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("thrift-to-json/skiff", func(b *testing.B) {
		b.SetBytes(int64(len(args)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.DecodeRequest(args); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("thrift-to-json/dynamicgo", func(b *testing.B) {
		b.SetBytes(int64(len(thriftReq)))
		b.ReportAllocs()
		for b.Loop() {
			out, err := t2jConv.Do(ctx, desc, thriftReq)
			if err != nil {
				b.Fatal(err)
			}
			_ = string(out) // Kitex's JSON generic returns a string
		}
	})
}
