package ttstream_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cloudwego/gopkg/bufiox"
	gthrift "github.com/cloudwego/gopkg/protocol/thrift"
	gttheader "github.com/cloudwego/gopkg/protocol/ttheader"
	kttstream "github.com/cloudwego/kitex/pkg/remote/trans/ttstream"

	"github.com/skiffrpc/skiff/core/codec"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// kitexFrames are frames as Kitex v0.15.2's EncodeFrame builds them
// (gopkg ttheader.Encode with flags 0x0002, protocol id 0x10, int keys 27
// and 9, and the header or trailer map as string keys).
var kitexFrames = []struct {
	name    string
	sid     int32
	typ     string
	strs    map[string]string
	ints    map[uint16]string
	payload []byte
}{
	{"header", 1, gttheader.FrameTypeHeader, map[string]string{"isn": "StreamService", "RPC_TRANSIT_tk": "tv"}, nil, nil},
	{"header with ACL token", 2, gttheader.FrameTypeHeader, map[string]string{gttheader.GDPRToken: "tok"}, map[uint16]string{3: "caller"}, nil},
	{"data", -5, gttheader.FrameTypeData, nil, nil, []byte{0x0b, 0, 1, 0, 0, 0, 1, 'a', 0}},
	{"trailer biz", 3, gttheader.FrameTypeTrailer, map[string]string{"biz-status": "4001", "biz-message": "quota"}, nil, nil},
	{"trailer exception", 4, gttheader.FrameTypeTrailer, nil, nil, mustException("Bidi", 4, 6, "boom")},
	{"rst", 5, gttheader.FrameTypeRst, map[string]string{"ttscp": "client"}, nil, mustException("Spread", 5, 12007, "canceled")},
	{"meta", 0, gttheader.FrameTypeMeta, nil, nil, nil},
}

func mustException(method string, seq, typ int32, msg string) []byte {
	b, err := gthrift.MarshalFastMsg(method, gthrift.EXCEPTION, seq, gthrift.NewApplicationException(typ, msg))
	if err != nil {
		panic(err)
	}
	return b
}

// TestFramesFromKitex decodes frames encoded by Kitex's own encoder and
// re-encodes them with Skiff's: the bytes are identical (Kitex's maps put
// keys in random order; Skiff keeps the order it read).
func TestFramesFromKitex(t *testing.T) {
	for _, kf := range kitexFrames {
		t.Run(kf.name, func(t *testing.T) {
			ints := map[uint16]string{gttheader.FrameType: kf.typ, gttheader.ToMethod: "Bidi"}
			for k, v := range kf.ints {
				ints[k] = v
			}
			var buf []byte
			w := bufiox.NewBytesWriter(&buf)
			lenField, err := gttheader.Encode(context.Background(), gttheader.EncodeParam{
				Flags: gttheader.HeaderFlagsStreaming, SeqID: kf.sid, ProtocolID: gttheader.ProtocolIDThriftStruct,
				IntInfo: ints, StrInfo: kf.strs,
			}, w)
			if err != nil {
				t.Fatal(err)
			}
			if len(kf.payload) > 0 {
				_, _ = w.WriteBinary(kf.payload)
			}
			n := w.WrittenLen()
			lenField[0], lenField[1], lenField[2], lenField[3] = byte((n-4)>>24), byte((n-4)>>16), byte((n-4)>>8), byte(n-4)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			var f ttheader.Frame
			if err := ttheader.DecodeFrame(buf, &f); err != nil {
				t.Fatalf("decode Kitex frame %x: %v", buf, err)
			}
			if f.StreamID != kf.sid || f.Method != "Bidi" || string(rune('0'+f.Type)) != kf.typ || !bytes.Equal(f.Payload, kf.payload) {
				t.Fatalf("decoded %+v", f)
			}
			for k, v := range kf.strs {
				if got, _ := f.Meta.Str(k); got != v {
					t.Errorf("string key %q = %q, want %q", k, got, v)
				}
			}
			again, err := ttheader.AppendFrame(nil, &f)
			if err != nil || !bytes.Equal(again, buf) {
				t.Fatalf("re-encoded:\n%x\nKitex:\n%x (%v)", again, buf, err)
			}
		})
	}
}

// TestFramesToKitex encodes frames with Skiff and decodes them with
// Kitex's ttstream decoder and gopkg's header decoder.
func TestFramesToKitex(t *testing.T) {
	exc := ttheader.AppendException(nil, "Bidi", 9, &ttheader.Exception{TypeID: 12007, Message: "canceled"})
	if want := mustException("Bidi", 9, 12007, "canceled"); !bytes.Equal(exc, want) {
		t.Fatalf("exception bytes differ from Kitex's:\n%x\n%x", exc, want)
	}
	for _, ft := range []ttheader.FrameType{ttheader.FrameMeta, ttheader.FrameHeader, ttheader.FrameData, ttheader.FrameTrailer, ttheader.FrameRst} {
		f := &ttheader.Frame{Type: ft, StreamID: 9, Method: "Bidi", Payload: exc}
		f.Meta.Strs = []codec.StrKV{{Key: "isn", Value: "StreamService"}, {Key: ttheader.ACLTokenKey, Value: "tok"}}
		b, err := ttheader.AppendFrame(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		dp, err := gttheader.DecodeFromBytes(context.Background(), b)
		if err != nil {
			t.Fatalf("gopkg decode: %v", err)
		}
		if dp.SeqID != 9 || dp.Flags != gttheader.HeaderFlagsStreaming || dp.ProtocolID != gttheader.ProtocolIDThriftStruct ||
			dp.IntInfo[gttheader.FrameType] != string(rune('0'+ft)) || dp.IntInfo[gttheader.ToMethod] != "Bidi" ||
			dp.StrInfo["isn"] != "StreamService" || dp.StrInfo[gttheader.GDPRToken] != "tok" || dp.PayloadLen != len(exc) {
			t.Fatalf("gopkg decoded %+v", dp)
		}
		kf, err := kttstream.DecodeFrame(context.Background(), bufiox.NewBytesReader(b))
		if err != nil {
			t.Fatalf("Kitex DecodeFrame: %v", err)
		}
		if s := kf.String(); !strings.Contains(s, "sid=9") || !strings.Contains(s, "fmethod=Bidi") {
			t.Fatalf("Kitex decoded %s", s)
		}
	}
}
