package thriftcodec_test

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	tc "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/transport"
)

func ptr[T any](v T) *T { return &v }

// The Echo request every capture carries, and the reply.
var (
	captureMsg = &echoMsg{
		Message: "hello #0 ☺",
		Seq:     ptr[int64](0),
		Extra:   []kv{{"k", "v"}, {"i", "0"}},
		Blob:    []byte{0x00, 0x7f, 0x80, 0xff},
	}
	captureErr = &echoError{Code: 7, Reason: "requested failure"}
)

// want is the expected content of each capture: method, type, seq id and
// payload, in order.
type wantMsg struct {
	method  string
	typ     codec.MessageType
	seq     int32
	payload *wrapper
}

var (
	wantC2S = []wantMsg{
		{"Echo", codec.Call, 1, echoArgs(captureMsg)},
		{"Fail", codec.Call, 2, failArgs(7)},
	}
	wantS2C = []wantMsg{
		{"Echo", codec.Reply, 1, &wrapper{msgID: 0, errID: -1, i32ID: -1, msg: captureMsg}},
		{"Fail", codec.Reply, 2, &wrapper{msgID: 0, errID: 1, i32ID: -1, err: captureErr}},
	}
)

func readCapture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGolden decodes every message of the Kitex captures with the Framed
// and Buffered transports and the codec, checks the values, and re-encodes
// them through the fast path and the thrift.TStruct path: the bytes must
// equal the capture.
func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		file  string
		proto transport.Protocol
		want  []wantMsg
	}{
		{"thrift-framed.c2s.bin", tc.Framed, wantC2S},
		{"thrift-framed.s2c.bin", tc.Framed, wantS2C},
		{"thrift-buffered.c2s.bin", tc.Buffered, wantC2S},
		{"thrift-buffered.s2c.bin", tc.Buffered, wantS2C},
	} {
		t.Run(tt.file, func(t *testing.T) {
			data := readCapture(t, tt.file)
			if !tt.proto.Detect(data[:transport.DetectLen]) {
				t.Errorf("%s.Detect(%x) = false", tt.proto.Name(), data[:transport.DetectLen])
			}
			for _, chunk := range []int{0, 1, 2, 5, 13, 64} {
				r := newMemReader(data, chunk)
				var fast, slow memWriter
				for i, want := range tt.want {
					msg := &codec.Message{}
					body, err := tt.proto.ReadMessage(r, msg, 0)
					if err != nil {
						t.Fatalf("chunk %d: message %d: ReadMessage: %v", chunk, i, err)
					}
					c := tc.Codec
					if cd, ok := tt.proto.(transport.CodecDetector); ok {
						c = codec.Lookup(cd.Codec(msg))
					}
					if !c.Detect(body[:8]) {
						t.Errorf("Codec.Detect(%x) = false", body[:8])
					}
					n, err := c.DecodeEnvelope(body, msg)
					if err != nil {
						t.Fatalf("message %d: DecodeEnvelope: %v", i, err)
					}
					if msg.Method != want.method || msg.Type != want.typ || msg.SeqID != want.seq {
						t.Fatalf("message %d: envelope %s %v seq %d, want %s %v seq %d",
							i, msg.Method, msg.Type, msg.SeqID, want.method, want.typ, want.seq)
					}
					p := payloadFor(msg.Method, msg.Type == codec.Reply)
					msg.Payload = p
					if err := c.DecodePayload(body[n:], msg); err != nil {
						t.Fatalf("message %d: DecodePayload: %v", i, err)
					}
					if !reflect.DeepEqual(p, want.payload) {
						t.Fatalf("message %d: payload\n got %+v\nwant %+v", i, p, want.payload)
					}
					if err := tt.proto.WriteMessage(&fast, msg, c); err != nil {
						t.Fatal(err)
					}
					msg.Payload = slowOnly{p.(*wrapper)}
					if c.Size(msg) != -1 {
						t.Errorf("Size of a TStruct payload = %d, want -1", c.Size(msg))
					}
					if err := tt.proto.WriteMessage(&slow, msg, c); err != nil {
						t.Fatal(err)
					}
				}
				if r.Len() != 0 {
					t.Fatalf("%d bytes left after the last message", r.Len())
				}
				for name, w := range map[string]*memWriter{"fast": &fast, "tstruct": &slow} {
					if !bytes.Equal(w.buf, data) {
						t.Fatalf("%s re-encoding differs from the capture\n got %x\nwant %x", name, w.buf, data)
					}
				}
			}
		})
	}
}

// TestBufferedNeverWaitsPastTheMessage feeds the buffered captures one byte
// at a time and checks that ReadMessage never waits for bytes beyond the end
// of the message it reads (on a real connection that would block until the
// next request arrives).
func TestBufferedNeverWaitsPastTheMessage(t *testing.T) {
	for _, file := range []string{"thrift-buffered.c2s.bin", "thrift-buffered.s2c.bin"} {
		data := readCapture(t, file)
		for _, chunk := range []int{1, 3, 7} {
			r := newMemReader(data, chunk)
			for r.pos < len(data) {
				start := r.pos
				end := start + messageLen(t, data[start:])
				r.limit = end
				b, err := tc.Buffered.ReadMessage(r, &codec.Message{}, 0)
				if err != nil {
					t.Fatal(err)
				}
				if r.pos != end || len(b) != end-start {
					t.Fatalf("%s: read to %d, message ends at %d", file, r.pos, end)
				}
				if r.overread {
					t.Fatalf("%s chunk %d: ReadMessage waited for bytes past the message end %d", file, chunk, end)
				}
			}
		}
	}
}

// messageLen returns the length of the message at the start of b, found
// with DecodeEnvelope and Skip.
func messageLen(t testing.TB, b []byte) int {
	t.Helper()
	n, err := tc.Codec.DecodeEnvelope(b, &codec.Message{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := tc.Skip(b[n:], tc.TypeStruct, tc.MaxDepth)
	if err != nil {
		t.Fatal(err)
	}
	return n + m
}
