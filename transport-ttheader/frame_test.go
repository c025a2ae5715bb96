package ttheader_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFrameGolden checks a data frame against bytes laid out by hand from
// Kitex v0.15.2's encoder (gopkg ttheader.Encode): flags 0x0002, stream id
// as sequence number, protocol id 0x10, one int block with frame type
// and method, padding, payload.
func TestFrameGolden(t *testing.T) {
	want := unhex(t, `
		00 00 00 21  10 00 00 02  00 00 00 01  00 05
		10 00
		10 00 02  00 1b 00 01 33  00 09 00 04 45 63 68 6f
		00 00
		01 02 03`)
	f := &ttheader.Frame{Type: ttheader.FrameData, StreamID: 1, Method: "Echo", Payload: []byte{1, 2, 3}}
	got, err := ttheader.AppendFrame(nil, f)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("AppendFrame = %x, %v\nwant          %x", got, err, want)
	}
	if n, err := ttheader.FrameLen(f); err != nil || n != len(want) {
		t.Fatalf("FrameLen = %d, %v; want %d", n, err, len(want))
	}
	var d ttheader.Frame
	if err := ttheader.DecodeFrame(want, &d); err != nil {
		t.Fatal(err)
	}
	if d.Type != ttheader.FrameData || d.StreamID != 1 || d.Method != "Echo" || d.ProtocolID != 0x10 || !bytes.Equal(d.Payload, []byte{1, 2, 3}) {
		t.Fatalf("decoded %+v", d)
	}
	// Re-encoding what was decoded gives the same bytes.
	again, err := ttheader.AppendFrame(nil, &d)
	if err != nil || !bytes.Equal(again, want) {
		t.Fatalf("re-encoded %x, %v", again, err)
	}
}

// TestFrameRoundTrip encodes every frame type with header keys, an ACL
// token and a payload, and decodes it back, including negative stream
// ids (Kitex's counter wraps).
func TestFrameRoundTrip(t *testing.T) {
	exc := ttheader.AppendException(nil, "Echo", -7, &ttheader.Exception{TypeID: ttheader.TypeBizCancel, Message: "bye"})
	for _, ft := range []ttheader.FrameType{ttheader.FrameMeta, ttheader.FrameHeader, ttheader.FrameData, ttheader.FrameTrailer, ttheader.FrameRst, ttheader.FrameWindow} {
		f := &ttheader.Frame{Type: ft, StreamID: -7, Method: "Echo", Payload: exc}
		f.Meta.Strs = []codec.StrKV{{Key: "isn", Value: "Svc"}, {Key: ttheader.ACLTokenKey, Value: "tok"}, {Key: "biz-status", Value: "12"}}
		f.Meta.Ints = []codec.IntKV{{Key: 3, Value: "caller"}}
		b, err := ttheader.AppendFrame(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if !ttheader.TTStream.Detect(b[:8]) {
			t.Fatalf("type %d: Detect rejected the frame", ft)
		}
		var d ttheader.Frame
		if err := ttheader.DecodeFrame(b, &d); err != nil {
			t.Fatalf("type %d: %v", ft, err)
		}
		if d.Type != ft || d.StreamID != -7 || d.Method != "Echo" || !bytes.Equal(d.Payload, exc) {
			t.Fatalf("type %d: decoded %+v", ft, d)
		}
		if v, _ := d.Meta.Str("isn"); v != "Svc" {
			t.Fatalf("isn = %q", v)
		}
		if v, _ := d.Meta.Str(ttheader.ACLTokenKey); v != "tok" {
			t.Fatalf("ACL token = %q", v)
		}
		if v, _ := d.Meta.Int(3); v != "caller" {
			t.Fatalf("int key 3 = %q", v)
		}
		e, err := ttheader.DecodeException(d.Payload)
		if err != nil || e.TypeID != ttheader.TypeBizCancel || e.Message != "bye" {
			t.Fatalf("exception %+v, %v", e, err)
		}
	}
}

// TestFrameErrors checks that bad frames give typed errors.
func TestFrameErrors(t *testing.T) {
	good, _ := ttheader.AppendFrame(nil, &ttheader.Frame{Type: ttheader.FrameData, StreamID: 1, Method: "M", Payload: []byte("x")})
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string][]byte{
		"short":           good[:10],
		"magic":           mut(func(b []byte) []byte { b[4] = 0x0f; return b }),
		"not streaming":   mut(func(b []byte) []byte { b[7] = 0; return b }),
		"length mismatch": good[:len(good)-1],
		"header size 0":   mut(func(b []byte) []byte { b[13] = 0; return b }),
		"header too big":  mut(func(b []byte) []byte { b[13] = 0xff; return b }),
		"unknown info id": mut(func(b []byte) []byte { b[16] = 0x42; return b }),
		"no frame type": func() []byte {
			f := &ttheader.Frame{Type: ttheader.FrameData, Method: "M"}
			b, _ := ttheader.AppendFrame(nil, f)
			// Rewrite key 27 to key 28.
			i := bytes.Index(b, []byte{0x00, 0x1b, 0x00, 0x01, '3'})
			b[i+1] = 0x1c
			return b
		}(),
		"unknown frame type": func() []byte {
			b := bytes.Clone(good)
			i := bytes.Index(b, []byte{0x00, 0x1b, 0x00, 0x01, '3'})
			b[i+4] = '9'
			return b
		}(),
	}
	for name, b := range cases {
		var f ttheader.Frame
		err := ttheader.DecodeFrame(b, &f)
		var fe *ttheader.FrameError
		if !errors.As(err, &fe) || !errors.Is(err, status.ErrProtocol) {
			t.Errorf("%s: error %v, want a *FrameError matching status.ErrProtocol", name, err)
		}
	}
	if _, err := ttheader.DecodeException([]byte{0x80, 1, 0, 1}); err == nil {
		t.Error("DecodeException accepted a CALL")
	}
}

// FuzzReadFrame feeds arbitrary bytes to the frame reader: it never
// panics, never returns a frame over the size limit, and what it decodes
// re-encodes to a frame that decodes the same.
func FuzzReadFrame(f *testing.F) {
	good, _ := ttheader.AppendFrame(nil, &ttheader.Frame{Type: ttheader.FrameHeader, StreamID: 3, Method: "Echo",
		Meta: codec.Metadata{Strs: []codec.StrKV{{Key: "isn", Value: "S"}, {Key: ttheader.ACLTokenKey, Value: "t"}}}})
	f.Add(good, 1024)
	f.Add(unhex(f, "00000021 10000002 00000001 0005 1000 100002 001b000133 0009000445636 86f 0000 010203"), 64)
	f.Add([]byte{0, 0, 0, 10, 0x10, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x10, 0xff}, 16)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 0 {
			max = -max
		}
		max %= 1 << 20
		r := newMemReader(b)
		for {
			var fr ttheader.Frame
			err := ttheader.ReadFrame(r, &fr, max)
			if err != nil {
				var fe *ttheader.FrameError
				if !errors.As(err, &fe) && !errIsEOF(err) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if max > 0 && len(fr.Payload) > max {
				t.Fatalf("payload of %d bytes passed the limit %d", len(fr.Payload), max)
			}
			enc, err := ttheader.AppendFrame(nil, &fr)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			var d ttheader.Frame
			if err := ttheader.DecodeFrame(enc, &d); err != nil {
				t.Fatalf("decode of re-encoded frame: %v", err)
			}
			if d.Type != fr.Type || d.StreamID != fr.StreamID || d.Method != fr.Method || !bytes.Equal(d.Payload, fr.Payload) {
				t.Fatalf("re-encoded frame differs: %+v vs %+v", d, fr)
			}
			_ = r.Release()
		}
	})
}
