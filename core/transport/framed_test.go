package transport_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/internal/membuf"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/core/transporttest"
)

func frame(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

func TestFramedRoundTrip(t *testing.T) {
	w := &membuf.Writer{}
	msg := &codec.Message{Type: codec.Call, SeqID: 9, Method: "Echo", Payload: &toycodec.Bytes{B: []byte("hello")}}
	if err := transport.Framed.WriteMessage(w, msg, toycodec.Codec); err != nil {
		t.Fatal(err)
	}
	b := w.Bytes()
	if !transport.Framed.Detect(b[:transport.DetectLen]) {
		t.Fatal("Detect rejected a Framed toy message")
	}
	got, err := transport.Framed.ReadMessage(membuf.NewReader(b), &codec.Message{}, 0)
	if err != nil || string(got) != string(b[4:]) {
		t.Fatalf("ReadMessage: %x %v", got, err)
	}
}

func TestFramedRejectsOversizeBeforeReading(t *testing.T) {
	// Only the 4-byte header exists: a reader that tried to read the body
	// would fail with io.ErrUnexpectedEOF instead of the size error.
	hdr := binary.BigEndian.AppendUint32(nil, 1<<30)
	_, err := transport.Framed.ReadMessage(membuf.NewReader(hdr), &codec.Message{}, 1024)
	if !errors.Is(err, status.ErrProtocol) {
		t.Fatalf("want protocol error, got %v", err)
	}
	_, err = transport.Framed.ReadMessage(membuf.NewReader(binary.BigEndian.AppendUint32(nil, 0)), &codec.Message{}, 0)
	if !errors.Is(err, status.ErrProtocol) {
		t.Fatalf("empty frame: want protocol error, got %v", err)
	}
}

func FuzzFramed(f *testing.F) {
	f.Add(frame([]byte{0xAB, 1, 0, 4, 'E', 'c', 'h', 'o', 0, 0, 0, 1}), 64)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, 16)
	f.Add([]byte{0, 0, 0, 2, 1}, 16)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		r := membuf.NewReader(b)
		for r.Len() > 0 {
			got, err := transport.Framed.ReadMessage(r, &codec.Message{}, max)
			if err != nil {
				return
			}
			if limit := max; limit > 0 && len(got) > limit {
				t.Fatalf("frame of %d bytes passed limit %d", len(got), limit)
			}
		}
	})
}

func TestFramedKit(t *testing.T) {
	transporttest.Run(t, transport.Framed, toycodec.Codec, func() *codec.Message {
		return &codec.Message{Type: codec.Call, SeqID: 3, Method: "Echo", Payload: &toycodec.Bytes{B: []byte("payload")}}
	})
}
