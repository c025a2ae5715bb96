package ttheader_test

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/core/transporttest"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

func write(t *testing.T, p transport.Protocol, msg *codec.Message) []byte {
	t.Helper()
	b := transporttest.NewBuffer()
	if err := p.WriteMessage(b, msg, rawCodec); err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGoldenVector(t *testing.T) {
	msg := &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: &Raw{B: []byte{0}}}
	msg.Meta.SetStr("isn", "Svc")
	msg.Meta.SetInt(9, "Echo")
	if got := write(t, ttheader.TTHeaderFramed, msg); !bytes.Equal(got, golden) {
		t.Fatalf("encoded\n%x\nwant\n%x", got, golden)
	}

	b := transporttest.NewBuffer()
	_, _ = b.Write(golden)
	var m codec.Message
	payload, err := ttheader.TTHeader.ReadMessage(b, &m, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(payload, golden[46:]) {
		t.Errorf("payload %x, want %x", payload, golden[46:])
	}
	if b.Len() != 0 {
		t.Errorf("%d bytes left", b.Len())
	}
	if m.SeqID != 1 || m.ProtocolID != ttheader.FramedPayload {
		t.Errorf("SeqID %d, ProtocolID %#x", m.SeqID, m.ProtocolID)
	}
	want := codec.Metadata{Ints: []codec.IntKV{{Key: 9, Value: "Echo"}}, Strs: []codec.StrKV{{Key: "isn", Value: "Svc"}}}
	if !reflect.DeepEqual(m.Meta, want) {
		t.Errorf("Meta %+v, want %+v", m.Meta, want)
	}
	// The message read answers in its own form, whichever protocol writes.
	m.Payload = &Raw{B: []byte{0}}
	m.Type = codec.Call
	m.Method = "Echo"
	if got := write(t, ttheader.TTHeader, &m); !bytes.Equal(got, golden) {
		t.Errorf("TTHeader re-encoding of a framed request\n%x\nwant\n%x", got, golden)
	}
}

func TestCaptures(t *testing.T) {
	for _, tc := range []struct {
		file   string
		framed bool
		seqs   []int32
		method []string
	}{
		{"thrift-ttheader.c2s.bin", false, []int32{1, 2}, []string{"Echo", "Fail"}},
		{"thrift-ttheader.s2c.bin", false, []int32{1, 2}, []string{"Echo", "Fail"}},
		{"thrift-ttheader-framed.c2s.bin", true, []int32{1, 2}, []string{"Echo", "Fail"}},
		{"thrift-ttheader-framed.s2c.bin", true, []int32{1, 2}, []string{"Echo", "Fail"}},
		{"protobuf-ttheader-framed.c2s.bin", true, []int32{1}, []string{"Echo"}},
		{"protobuf-ttheader-framed.s2c.bin", true, []int32{1}, []string{"Echo"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := readFile(t, tc.file)
			frames := splitFrames(t, data)
			if len(frames) != len(tc.seqs) {
				t.Fatalf("%d frames, want %d", len(frames), len(tc.seqs))
			}
			b := transporttest.NewBuffer()
			_, _ = b.Write(data)
			for i, frame := range frames {
				if !ttheader.TTHeader.Detect(frame[:transport.DetectLen]) || !ttheader.TTHeaderFramed.Detect(frame[:transport.DetectLen]) {
					t.Errorf("frame %d not detected", i)
				}
				h, err := ttheader.DecodeHeader(frame, nil)
				if err != nil {
					t.Fatalf("frame %d: DecodeHeader: %v", i, err)
				}
				if h.Flags != 0 || h.SeqID != tc.seqs[i] || h.ProtocolID != 0 || h.InfoSize != 4 || int(h.Length) != len(frame)-4 {
					t.Errorf("frame %d: header %+v", i, h)
				}
				// The Kitex message starts after the 18-byte header (and its
				// own length in the framed form).
				off := 18
				if tc.framed {
					off += 4
				}
				var m codec.Message
				payload, err := ttheader.TTHeader.ReadMessage(b, &m, 0)
				if err != nil {
					t.Fatalf("frame %d: ReadMessage: %v", i, err)
				}
				if !bytes.Equal(payload, frame[off:]) {
					t.Fatalf("frame %d: payload\n%x\nwant\n%x", i, payload, frame[off:])
				}
				if len(m.Meta.Ints)+len(m.Meta.Strs) != 0 || m.SeqID != tc.seqs[i] {
					t.Errorf("frame %d: meta %+v, seq %d", i, m.Meta, m.SeqID)
				}
				if got := m.ProtocolID == ttheader.FramedPayload; got != tc.framed {
					t.Errorf("frame %d: ProtocolID %#x, framed %v", i, m.ProtocolID, tc.framed)
				}
				if n := int(binary.BigEndian.Uint32(payload[4:])); string(payload[8:8+n]) != tc.method[i] {
					t.Errorf("frame %d: method %q, want %q", i, payload[8:8+n], tc.method[i])
				}
				if payload[0] == 0x90 {
					continue // Kitex Protobuf: the test codec writes Thrift only
				}
				// Re-encode the header with the message bytes as they are.
				n, err := rawCodec.DecodeEnvelope(payload, &m)
				if err != nil {
					t.Fatal(err)
				}
				m.Payload = &Raw{B: bytes.Clone(payload[n:])}
				for _, p := range []*ttheader.Protocol{ttheader.TTHeader, ttheader.TTHeaderFramed} {
					got := write(t, p, &m)
					if p.Framed() && !tc.framed {
						continue // TTHeaderFramed always writes the framed form
					}
					if !bytes.Equal(got, frame) {
						t.Errorf("frame %d: %s re-encoding\n%x\nwant\n%x", i, p.Name(), got, frame)
					}
				}
				hb, err := ttheader.AppendHeader(nil, h, nil, len(frame)-18)
				if err != nil || !bytes.Equal(hb, frame[:18]) {
					t.Errorf("frame %d: AppendHeader %x, %v; want %x", i, hb, err, frame[:18])
				}
			}
			if b.Len() != 0 {
				t.Errorf("%d bytes left", b.Len())
			}
		})
	}
}

// TestFramingForms: each protocol reads both forms; TTHeader writes what
// it read, TTHeaderFramed always writes framed.
func TestFramingForms(t *testing.T) {
	newMsg := func() *codec.Message {
		return &codec.Message{Type: codec.Call, SeqID: 5, Method: "M", Payload: &Raw{B: []byte{0}}}
	}
	plain := write(t, ttheader.TTHeader, newMsg())
	framed := write(t, ttheader.TTHeaderFramed, newMsg())
	if len(framed) != len(plain)+4 {
		t.Fatalf("framed %d bytes, plain %d", len(framed), len(plain))
	}
	for _, p := range []*ttheader.Protocol{ttheader.TTHeader, ttheader.TTHeaderFramed} {
		for _, in := range [][]byte{plain, framed} {
			b := transporttest.NewBuffer()
			_, _ = b.Write(in)
			var m codec.Message
			payload, err := p.ReadMessage(b, &m, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(payload, plain[18:]) {
				t.Errorf("%s read %x, want %x", p.Name(), payload, plain[18:])
			}
			if _, err := rawCodec.DecodeEnvelope(payload, &m); err != nil {
				t.Fatal(err)
			}
			m.Payload = &Raw{B: []byte{0}}
			want := in
			if p.Framed() {
				want = framed
			}
			if got := write(t, p, &m); !bytes.Equal(got, want) {
				t.Errorf("%s answered %x, want %x", p.Name(), got, want)
			}
		}
	}
}

func TestRegistered(t *testing.T) {
	if transport.Lookup("ttheader") != ttheader.TTHeader || transport.Lookup("ttheader-framed") != ttheader.TTHeaderFramed {
		t.Fatal("protocols not registered")
	}
	var first transport.Protocol
	for _, p := range transport.All() {
		if p.Detect(golden[:transport.DetectLen]) {
			first = p
			break
		}
	}
	if first != ttheader.TTHeader {
		t.Errorf("a server would pick %v for a TTHeader connection, want ttheader", first)
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		prefix []byte
		want   bool
	}{
		{golden[:8], true},
		{golden[:6], true},
		{golden[:5], false},
		{nil, false},
		{[]byte{0, 0, 0, 0x10, 0x0f, 0xff, 0, 0}, false},                // Apache THeader
		{[]byte{0, 0, 0, 0x10, 0x10, 0x00, 0x00, 0x02}, false},          // TTHeader Streaming
		{[]byte{0x80, 0, 0, 0x10, 0x10, 0x00, 0x00, 0x00}, false},       // top bit of LENGTH
		{[]byte{0, 0, 0, 0x10, 0x80, 0x01, 0x00, 0x01}, false},          // Framed Thrift
		{[]byte{0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04}, false}, // Buffered Thrift
	} {
		if got := ttheader.TTHeader.Detect(tc.prefix); got != tc.want {
			t.Errorf("Detect(%x) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
}

func TestHeaderEdges(t *testing.T) {
	long := strings.Repeat("v", ttheader.MaxInfoSize-10) // one str pair fills the info area exactly
	for _, tc := range []struct {
		name    string
		meta    codec.Metadata
		infoLen int
	}{
		{"empty", codec.Metadata{}, 4},
		{"acl", codec.Metadata{Strs: []codec.StrKV{{Key: ttheader.ACLTokenKey, Value: "tok"}}}, 8},
		{"int", codec.Metadata{Ints: []codec.IntKV{{Key: 3, Value: "caller"}, {Key: 12, Value: "1000"}}}, 24},
		{"str", codec.Metadata{Strs: []codec.StrKV{{Key: "isn", Value: "Svc"}, {Key: "RPC_PERSIST_k", Value: ""}}}, 32},
		{"all", codec.Metadata{
			Ints: []codec.IntKV{{Key: 9, Value: "Echo"}},
			Strs: []codec.StrKV{{Key: ttheader.ACLTokenKey, Value: "tok"}, {Key: "isn", Value: "Svc"}},
		}, 32},
		{"pad0", codec.Metadata{Ints: []codec.IntKV{{Key: 1, Value: "abc"}}}, 12},
		{"pad1", codec.Metadata{Ints: []codec.IntKV{{Key: 1, Value: "ab"}}}, 12},
		{"pad2", codec.Metadata{Ints: []codec.IntKV{{Key: 1, Value: "a"}}}, 12},
		{"pad3", codec.Metadata{Ints: []codec.IntKV{{Key: 1, Value: ""}}}, 12},
		{"empty values", codec.Metadata{Ints: []codec.IntKV{{Key: 0xFFFF}}, Strs: []codec.StrKV{{}}}, 16},
		{"max", codec.Metadata{Strs: []codec.StrKV{{Key: "k", Value: long}}}, ttheader.MaxInfoSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := ttheader.Header{Flags: ttheader.FlagSupportOutOfOrder, SeqID: -7, ProtocolID: 4}
			n, err := ttheader.HeaderLen(&tc.meta)
			if err != nil {
				t.Fatal(err)
			}
			if n != ttheader.FixedLen+tc.infoLen {
				t.Errorf("HeaderLen %d, want %d", n, ttheader.FixedLen+tc.infoLen)
			}
			enc, err := ttheader.AppendHeader([]byte("xx"), h, &tc.meta, 3)
			if err != nil {
				t.Fatal(err)
			}
			enc = append(enc[2:], 1, 2, 3)
			var got codec.Metadata
			dh, err := ttheader.DecodeHeader(enc, &got)
			if err != nil {
				t.Fatal(err)
			}
			if dh.Flags != h.Flags || dh.SeqID != h.SeqID || dh.ProtocolID != h.ProtocolID || dh.InfoSize != tc.infoLen || int(dh.Length) != len(enc)-4 {
				t.Errorf("decoded %+v", dh)
			}
			if len(got.Ints)+len(tc.meta.Ints) > 0 && !reflect.DeepEqual(got.Ints, tc.meta.Ints) {
				t.Errorf("ints %v, want %v", got.Ints, tc.meta.Ints)
			}
			if len(got.Strs)+len(tc.meta.Strs) > 0 && !reflect.DeepEqual(got.Strs, tc.meta.Strs) {
				t.Errorf("strs %v, want %v", got.Strs, tc.meta.Strs)
			}
			again, err := ttheader.AppendHeader(nil, dh, &got, 3)
			if err != nil || !bytes.Equal(again, enc[:n]) {
				t.Errorf("re-encoding differs: %v", err)
			}
			if _, err := ttheader.DecodeHeader(enc, nil); err != nil {
				t.Errorf("DecodeHeader without meta: %v", err)
			}
		})
	}
}

func TestHeaderTooLarge(t *testing.T) {
	for name, meta := range map[string]codec.Metadata{
		"info":      {Strs: []codec.StrKV{{Key: "k", Value: strings.Repeat("v", ttheader.MaxInfoSize-9)}}},
		"str key":   {Strs: []codec.StrKV{{Key: strings.Repeat("k", 1<<16), Value: ""}}},
		"str value": {Strs: []codec.StrKV{{Key: "k", Value: strings.Repeat("v", 1<<16)}}},
		"int value": {Ints: []codec.IntKV{{Key: 1, Value: strings.Repeat("v", 1<<16)}}},
		"acl":       {Strs: []codec.StrKV{{Key: ttheader.ACLTokenKey, Value: strings.Repeat("v", 1<<16)}}},
		"ints":      {Ints: make([]codec.IntKV, 1<<16)},
	} {
		if _, err := ttheader.HeaderLen(&meta); !errors.Is(err, status.ErrProtocol) {
			t.Errorf("%s: HeaderLen: %v, want a protocol error", name, err)
		}
		msg := &codec.Message{Type: codec.Call, Method: "M", Payload: &Raw{}, Meta: meta}
		if err := ttheader.TTHeader.WriteMessage(transporttest.NewBuffer(), msg, rawCodec); !errors.Is(err, status.ErrProtocol) {
			t.Errorf("%s: WriteMessage: %v, want a protocol error", name, err)
		}
	}
}

// hdr builds a frame from a raw info area (padded by the caller) and a
// payload.
func hdr(info []byte, payload ...byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(10+len(info)+len(payload)))
	b = append(b, 0x10, 0x00, 0x00, 0x00, 0, 0, 0, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(info)/4))
	b = append(b, info...)
	return append(b, payload...)
}

var thriftMsg = []byte{0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 'M', 0x00, 0x00, 0x00, 0x01, 0x00}

func TestBadInput(t *testing.T) {
	setLen := func(b []byte, n uint32) []byte { binary.BigEndian.PutUint32(b, n); return b }
	setHS := func(b []byte, n uint16) []byte { binary.BigEndian.PutUint16(b[12:], n); return b }
	ok := hdr([]byte{0, 0, 0, 0}, thriftMsg...)
	for _, tc := range []struct {
		name    string
		in      []byte
		maxSize int
	}{
		{"bad magic", append([]byte{0, 0, 0, 20, 0x0f, 0xff}, ok[6:]...), 0},
		{"header size past frame", setHS(bytes.Clone(ok), 100), 0},
		{"header size zero", setHS(bytes.Clone(ok), 0), 0},
		{"header size over max", setHS(append(setLen(bytes.Clone(ok), 70000), make([]byte, 70000)...), 16385), 0},
		{"no payload", hdr([]byte{0, 0, 0, 0}), 0},
		{"unknown info id", hdr([]byte{0, 0, 0x02, 0}, thriftMsg...), 0},
		{"transforms past header", hdr([]byte{0, 3, 1, 2}, thriftMsg...), 0},
		{"str count past header", hdr([]byte{0, 0, 0x01, 0}, thriftMsg...), 0},
		{"str key past header", hdr([]byte{0, 0, 0x01, 0, 1, 0, 9, 'k', 0, 0, 0, 0}, thriftMsg...), 0},
		{"str value past header", hdr([]byte{0, 0, 0x01, 0, 1, 0, 1, 'k', 0, 5, 0, 0}, thriftMsg...), 0},
		{"str pairs past header", hdr([]byte{0, 0, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0}, thriftMsg...), 0},
		{"int key past header", hdr([]byte{0, 0, 0x10, 0, 1, 0, 0, 0}, thriftMsg...), 0},
		{"int value past header", hdr([]byte{0, 0, 0x10, 0, 1, 0, 9, 0, 9, 0, 0, 0}, thriftMsg...), 0},
		{"acl past header", hdr([]byte{0, 0, 0x11, 0, 9, 0, 0, 0}, thriftMsg...), 0},
		{"acl length cut", hdr([]byte{0, 0, 0, 0x11}, thriftMsg...), 0},
		{"frame over limit, body absent", setLen(bytes.Clone(ok[:18]), 1<<20), 1024},
		{"frame over Kitex max", setLen(bytes.Clone(ok[:18]), 0x40000000), 1 << 31},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := transporttest.NewBuffer()
			_, _ = b.Write(tc.in)
			var m codec.Message
			_, err := ttheader.TTHeader.ReadMessage(b, &m, tc.maxSize)
			var se *status.Error
			if !errors.As(err, &se) || !errors.Is(err, status.ErrProtocol) {
				t.Fatalf("ReadMessage: %v (%T), want a *status.Error protocol error", err, err)
			}
			if !strings.Contains(tc.name, "limit") && !strings.Contains(tc.name, "max") {
				if _, err := ttheader.DecodeHeader(tc.in, nil); !errors.Is(err, status.ErrProtocol) {
					t.Errorf("DecodeHeader: %v, want a protocol error", err)
				}
			}
		})
	}
	// The good frame the table corrupts reads fine.
	b := transporttest.NewBuffer()
	_, _ = b.Write(ok)
	if p, err := ttheader.TTHeader.ReadMessage(b, new(codec.Message), 0); err != nil || !bytes.Equal(p, thriftMsg) {
		t.Fatalf("good frame: %x, %v", p, err)
	}
}

func TestFramedLengthMismatchIsUnframed(t *testing.T) {
	// A payload that looks framed but whose length disagrees is passed on
	// whole, for the codec to reject.
	payload := append([]byte{0, 0, 0, 99}, thriftMsg...)
	b := transporttest.NewBuffer()
	_, _ = b.Write(hdr([]byte{0, 0, 0, 0}, payload...))
	var m codec.Message
	got, err := ttheader.TTHeader.ReadMessage(b, &m, 0)
	if err != nil || !bytes.Equal(got, payload) || m.ProtocolID != 0 {
		t.Fatalf("got %x, %v, protocol id %#x", got, err, m.ProtocolID)
	}
}

func TestDecodeHeaderNoAllocs(t *testing.T) {
	frame := hdr([]byte{0, 0, 0x10, 0, 1, 0, 9, 0, 4, 'E', 'c', 'h', 'o', 0x01, 0, 1, 0, 3, 'i', 's', 'n', 0, 3, 'S', 'v', 'c', 0, 0}, thriftMsg...)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := ttheader.DecodeHeader(frame, nil); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("DecodeHeader with nil meta: %v allocs", n)
	}
	meta := benchMeta()
	buf := make([]byte, 1024)
	n, _ := ttheader.HeaderLen(&meta)
	if a := testing.AllocsPerRun(100, func() { ttheader.PutHeader(buf[:n], ttheader.Header{SeqID: 1}, &meta, 10) }); a != 0 {
		t.Errorf("PutHeader: %v allocs", a)
	}
}

func kitMsg(meta bool, size int) func() *codec.Message {
	return func() *codec.Message {
		m := &codec.Message{Type: codec.Call, SeqID: 3, Method: "Echo", Payload: &Raw{B: bytes.Repeat([]byte{0x0b}, size)}}
		if meta {
			m.Meta.SetInt(9, "Echo")
			m.Meta.SetStr("isn", "Svc")
			m.Meta.SetStr(ttheader.ACLTokenKey, "tok")
		}
		return m
	}
}

func TestKit(t *testing.T) {
	for _, p := range []*ttheader.Protocol{ttheader.TTHeader, ttheader.TTHeaderFramed} {
		t.Run(p.Name(), func(t *testing.T) {
			t.Run("bare", func(t *testing.T) { transporttest.Run(t, p, rawCodec, kitMsg(false, 1)) })
			t.Run("meta", func(t *testing.T) { transporttest.Run(t, p, rawCodec, kitMsg(true, 8)) })
			t.Run("large", func(t *testing.T) { transporttest.Run(t, p, rawCodec, kitMsg(true, 20000)) })
			t.Run("exception", func(t *testing.T) {
				transporttest.Run(t, p, rawCodec, func() *codec.Message {
					return &codec.Message{Type: codec.Exception, SeqID: -1, Method: "Fail", Err: status.Exception(6, "boom")}
				})
			})
		})
	}
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add(golden)
	for _, name := range []string{
		"thrift-ttheader.c2s.bin", "thrift-ttheader.s2c.bin",
		"thrift-ttheader-framed.c2s.bin", "thrift-ttheader-framed.s2c.bin",
		"protobuf-ttheader-framed.c2s.bin",
	} {
		for _, fr := range splitFrames(f, readFile(f, name)) {
			f.Add(fr)
		}
	}
	f.Add(hdr([]byte{0, 0, 0x11, 0, 3, 't', 'o', 'k'}, thriftMsg...))
	f.Add(hdr([]byte{0, 2, 1, 3, 0x10, 0, 1, 0, 1, 0, 0, 0}, thriftMsg...))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ttheader.DecodeHeader(b, nil)
		var meta codec.Metadata
		h2, err2 := ttheader.DecodeHeader(b, &meta)
		if (err == nil) != (err2 == nil) || h != h2 {
			t.Fatalf("with and without meta: %v / %v, %+v / %+v", err, err2, h, h2)
		}
		if err != nil {
			if !errors.Is(err, status.ErrProtocol) {
				t.Fatalf("error %v is not a protocol error", err)
			}
		} else {
			// Decoded key/values re-encode and decode to the same values.
			enc, err := ttheader.AppendHeader(nil, h, &meta, 1)
			if err != nil {
				t.Fatalf("re-encoding: %v", err)
			}
			var again codec.Metadata
			h3, err := ttheader.DecodeHeader(append(enc, 0), &again)
			if err != nil {
				t.Fatalf("decoding the re-encoding: %v", err)
			}
			// The ACL token block is always written first.
			aclFirst := func(a, b codec.StrKV) int {
				return cmp.Compare(b2i(a.Key != ttheader.ACLTokenKey), b2i(b.Key != ttheader.ACLTokenKey))
			}
			slices.SortStableFunc(meta.Strs, aclFirst)
			slices.SortStableFunc(again.Strs, aclFirst)
			if h3.SeqID != h.SeqID || h3.Flags != h.Flags || h3.ProtocolID != h.ProtocolID || !reflect.DeepEqual(again, meta) {
				t.Fatalf("round trip: %+v %+v / %+v %+v", h, meta, h3, again)
			}
		}
		r := transporttest.NewBuffer()
		_, _ = r.Write(b)
		for r.Len() > 0 {
			var m codec.Message
			p, err := ttheader.TTHeader.ReadMessage(r, &m, 1<<16)
			if err != nil {
				return
			}
			if len(p) == 0 || len(p) > 1<<16 {
				t.Fatalf("payload of %d bytes", len(p))
			}
		}
	})
}

func benchMeta() codec.Metadata {
	var m codec.Metadata
	m.SetInt(3, "caller.service")
	m.SetInt(6, "callee.service")
	m.SetInt(9, "Echo")
	m.SetInt(12, "1000")
	m.SetInt(20, "Handle")
	m.SetInt(22, "1")
	m.SetStr("isn", "EchoService")
	m.SetStr("RPC_PERSIST_tenant", "acme")
	m.SetStr("RPC_TRANSIT_trace", "0af7651916cd43dd8448eb211c80319c")
	m.SetStr("biz-status", "0")
	return m
}

func BenchmarkHeaderEncodeDecode(b *testing.B) {
	meta := benchMeta()
	buf := make([]byte, 0, 512)
	var got codec.Metadata
	b.ReportAllocs()
	for b.Loop() {
		enc, err := ttheader.AppendHeader(buf[:0], ttheader.Header{SeqID: 1}, &meta, 100)
		if err != nil {
			b.Fatal(err)
		}
		got.Reset()
		if _, err := ttheader.DecodeHeader(enc, &got); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHeaderEncode(b *testing.B) {
	meta := benchMeta()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ttheader.AppendHeader(buf[:0], ttheader.Header{SeqID: 1}, &meta, 100); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHeaderDecodeSkip(b *testing.B) {
	meta := benchMeta()
	enc, _ := ttheader.AppendHeader(nil, ttheader.Header{SeqID: 1}, &meta, 100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ttheader.DecodeHeader(enc, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestDecodeHeaderOneAlloc(t *testing.T) {
	meta := benchMeta()
	enc, _ := ttheader.AppendHeader(nil, ttheader.Header{SeqID: 1}, &meta, 1)
	enc = append(enc, 0)
	var got codec.Metadata
	if n := testing.AllocsPerRun(100, func() {
		got.Reset()
		if _, err := ttheader.DecodeHeader(enc, &got); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("DecodeHeader of 10 key/values: %v allocs, want 1", n)
	}
	if !reflect.DeepEqual(got, meta) {
		t.Errorf("decoded %+v, want %+v", got, meta)
	}
}

// loop is a Reader and Writer over one reused buffer, allocation-free once
// warm, for benchmarks: what is written is readable at once.
type loop struct {
	buf []byte
	off int
}

func (l *loop) Next(n int) ([]byte, error) {
	p, err := l.Peek(n)
	l.off += len(p)
	return p, err
}

func (l *loop) Peek(n int) ([]byte, error) {
	if n > len(l.buf)-l.off {
		return nil, io.ErrUnexpectedEOF
	}
	return l.buf[l.off : l.off+n], nil
}

func (l *loop) Skip(n int) error { _, err := l.Next(n); return err }
func (l *loop) Release() error   { l.buf, l.off = l.buf[:0], 0; return nil }
func (l *loop) Len() int         { return len(l.buf) - l.off }

func (l *loop) Malloc(n int) ([]byte, error) {
	l.buf = slices.Grow(l.buf, n)
	l.buf = l.buf[:len(l.buf)+n]
	return l.buf[len(l.buf)-n:], nil
}

func (l *loop) WriteBinary(b []byte) (int, error) { l.buf = append(l.buf, b...); return len(b), nil }
func (l *loop) MallocLen() int                    { return len(l.buf) }
func (l *loop) Flush() error                      { return nil }

// BenchmarkWriteReadMessage writes and reads one TTHeader+Framed frame
// with 6 int and 4 string keys and a 1 KB message; "none" is the same
// without metadata, and "framed" the core Framed transport, for the
// header's cost per message.
func BenchmarkWriteReadMessage(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    transport.Protocol
		meta bool
	}{
		{"ttheader-framed/meta", ttheader.TTHeaderFramed, true},
		{"ttheader-framed/none", ttheader.TTHeaderFramed, false},
		{"framed", transport.Framed, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			msg := &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: &Raw{B: make([]byte, 1024)}}
			if bc.meta {
				msg.Meta = benchMeta()
			}
			l := &loop{}
			var in codec.Message
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.p.WriteMessage(l, msg, rawCodec); err != nil {
					b.Fatal(err)
				}
				in.Reset()
				if _, err := bc.p.ReadMessage(l, &in, 0); err != nil {
					b.Fatal(err)
				}
				_ = l.Release()
			}
		})
	}
}
