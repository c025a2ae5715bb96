package thriftcodec_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	tc "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// callHeader returns the envelope of a strict message.
func callHeader(typ byte, method string, seq int32) []byte {
	b := []byte{0x80, 0x01, 0x00, typ}
	b = tc.AppendString(b, method)
	return tc.AppendI32(b, seq)
}

// nested returns a struct whose field 9 opens n levels of containers of
// kind typ (struct or list), each holding the next.
func nested(n int, typ byte) []byte {
	var b []byte
	if typ == tc.TypeStruct {
		for range n {
			b = tc.AppendFieldBegin(b, tc.TypeStruct, 9)
		}
		for range n + 1 {
			b = tc.AppendFieldStop(b)
		}
		return b
	}
	b = tc.AppendFieldBegin(b, tc.TypeList, 9)
	for range n - 1 {
		b = tc.AppendListBegin(b, tc.TypeList, 1)
	}
	b = tc.AppendListBegin(b, tc.TypeI32, 0)
	return tc.AppendFieldStop(b)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

type badCase struct {
	name string
	data []byte
	// buffered is what Buffered.ReadMessage gives for it: "protocol" (a
	// protocol error), "eof" (it waits for more bytes, and the reader ends)
	// or "ok" (the framing is right; only decoding fails).
	buffered string
	// contains is a word the codec's error message must contain.
	contains string
}

func badCases() []badCase {
	good := encode(nil, &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 1, Payload: echoArgs(captureMsg)})
	echo := callHeader(1, "Echo", 1)
	huge := []byte{0x7f, 0xff, 0xff, 0xff}
	neg := []byte{0xff, 0xff, 0xff, 0xfe}
	f := func(t byte, id int16) []byte { return tc.AppendFieldBegin(nil, t, id) }
	stop := []byte{0}
	return []badCase{
		{"wrong version", cat([]byte{0x80, 0x02}, good[2:]), "protocol", "version"},
		{"version 0x8101", cat([]byte{0x81, 0x01}, good[2:]), "protocol", "version"},
		{"non-strict", cat(tc.AppendString(nil, "Echo"), []byte{1}, tc.AppendI32(nil, 1), stop), "protocol", "non-strict"},
		{"name length past the end", cat([]byte{0x80, 1, 0, 1, 0, 0, 0, 0xff}, []byte("Echo"), tc.AppendI32(nil, 1), stop), "eof", "name length"},
		{"negative name length", cat([]byte{0x80, 1, 0, 1}, neg, []byte("Echo"), tc.AppendI32(nil, 1), stop), "protocol", "name length"},
		{"huge name length", cat([]byte{0x80, 1, 0, 1}, huge, []byte("Echo"), tc.AppendI32(nil, 1), stop), "protocol", "name length"},
		{"unknown message type 5", cat([]byte{0x80, 1, 0, 5}, good[4:]), "protocol", "message type 5"},
		{"message type 0", cat([]byte{0x80, 1, 0, 0}, good[4:]), "protocol", "message type 0"},
		{"message type 0x0101", cat([]byte{0x80, 1, 1, 1}, good[4:]), "protocol", "message type 257"},
		{"truncated envelope", good[:10], "eof", "shorter than an envelope"},
		{"truncated struct", good[:len(good)-5], "eof", "end of data"},
		{"struct without stop", good[:len(good)-1], "eof", "end of data"},
		{"deep struct nesting", cat(echo, nested(100, tc.TypeStruct)), "protocol", "nested"},
		{"deep list nesting", cat(echo, nested(100, tc.TypeList)), "protocol", "nested"},
		{"huge list length", cat(echo, f(tc.TypeList, 9), []byte{tc.TypeI32}, huge, stop), "protocol", "list"},
		{"huge list of structs", cat(echo, f(tc.TypeList, 9), []byte{tc.TypeStruct}, huge, stop), "protocol", "list"},
		{"huge map length", cat(echo, f(tc.TypeStruct, 1), f(tc.TypeMap, 3), []byte{tc.TypeString, tc.TypeString}, huge, stop, stop), "protocol", "map"},
		{"huge string length", cat(echo, f(tc.TypeStruct, 1), f(tc.TypeString, 1), huge, []byte("hi"), stop, stop), "protocol", "end of data"},
		{"negative string length", cat(echo, f(tc.TypeStruct, 1), f(tc.TypeString, 1), neg, stop, stop), "protocol", "negative"},
		{"negative list length", cat(echo, f(tc.TypeList, 9), []byte{tc.TypeI32}, neg, stop), "protocol", "negative"},
		{"invalid field type", cat(echo, f(5, 1), stop), "protocol", "type id 5"},
		{"void list elements", cat(echo, f(tc.TypeList, 9), []byte{tc.TypeVoid}, tc.AppendI32(nil, 1), stop), "protocol", "type id 1"},
		{"missing required field", cat(echo, f(tc.TypeStruct, 1), stop, stop), "ok", "required"},
		{"truncated exception", cat(callHeader(3, "Echo", 1), f(tc.TypeString, 1), tc.AppendI32(nil, 10), []byte("abc")), "eof", "end of data"},
		{"exception with bad field", cat(callHeader(3, "Echo", 1), f(tc.TypeList, 1), []byte{tc.TypeI64}, huge, stop), "protocol", "list"},
	}
}

// TestBadInput feeds malformed messages to the codec (fast path, TStruct
// path and nil payload) and to the Buffered transport: each must fail with
// a protocol error, never panic.
func TestBadInput(t *testing.T) {
	for _, tt := range badCases() {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"fast", "tstruct", "nil"} {
				msg := &codec.Message{}
				err := func() error {
					n, err := tc.Codec.DecodeEnvelope(tt.data, msg)
					if err != nil {
						return err
					}
					p := payloadFor(msg.Method, msg.Type == codec.Reply)
					switch path {
					case "tstruct":
						msg.Payload = slowOnly{p.(*wrapper)}
					case "fast":
						msg.Payload = p
					}
					return tc.Codec.DecodePayload(tt.data[n:], msg)
				}()
				if path == "nil" && tt.buffered == "ok" {
					if err != nil {
						t.Errorf("nil payload: %v", err)
					}
					continue
				}
				checkProtocolError(t, path, err)
				if path == "fast" && !strings.Contains(err.Error(), tt.contains) {
					t.Errorf("fast: error %q does not mention %q", err, tt.contains)
				}
			}

			r := newMemReader(tt.data, 0)
			b, err := tc.Buffered.ReadMessage(r, &codec.Message{}, 1<<20)
			switch tt.buffered {
			case "ok":
				if err != nil || len(b) != len(tt.data) {
					t.Errorf("buffered: %d bytes, %v", len(b), err)
				}
			case "eof":
				if err != io.EOF {
					t.Errorf("buffered: %v, want io.EOF", err)
				}
			default:
				checkProtocolError(t, "buffered", err)
			}
		})
	}
}

func checkProtocolError(t *testing.T, what string, err error) {
	t.Helper()
	var se *status.Error
	if !errors.As(err, &se) || !errors.Is(err, status.ErrProtocol) {
		t.Errorf("%s: error %v (%T), want a *status.Error matching status.ErrProtocol", what, err, err)
	}
}

func TestBufferedLimit(t *testing.T) {
	data := encode(t, &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 1, Payload: echoArgs(&echoMsg{Message: strings.Repeat("x", 1000)})})
	for _, limit := range []int{100, len(data) - 1} {
		_, err := tc.Buffered.ReadMessage(newMemReader(data, 0), &codec.Message{}, limit)
		checkProtocolError(t, "limit", err)
	}
	b, err := tc.Buffered.ReadMessage(newMemReader(data, 0), &codec.Message{}, len(data))
	if err != nil || len(b) != len(data) {
		t.Fatalf("at the limit: %d bytes, %v", len(b), err)
	}
}

func TestAppendBadMessage(t *testing.T) {
	for _, msg := range []*codec.Message{
		{Type: 0, Method: "Echo"},
		{Type: 5, Method: "Echo"},
		{Type: codec.Call, Method: strings.Repeat("m", tc.MaxMethodNameLen+1)},
		{Type: codec.Call, Method: "Echo", Payload: 42},
	} {
		if _, err := tc.Codec.Append(nil, msg); err == nil {
			t.Errorf("Append(type %d, %d-byte name, %T) succeeded", msg.Type, len(msg.Method), msg.Payload)
		}
	}
	if err := tc.Codec.DecodePayload([]byte{0}, &codec.Message{Type: codec.Call, Payload: 42}); err == nil {
		t.Error("DecodePayload into an int succeeded")
	}
}

// TestBufferedPeeksLittle reads a small message with a megabyte pipelined
// behind it: ReadMessage must not peek at all of it.
func TestBufferedPeeksLittle(t *testing.T) {
	small := encode(t, &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 1, Payload: echoArgs(captureMsg)})
	big := encode(t, &codec.Message{Type: codec.Call, Method: "Echo", SeqID: 2, Payload: echoArgs(&echoMsg{Message: strings.Repeat("x", 1<<20)})})
	r := newMemReader(cat(small, big), 0)
	b, err := tc.Buffered.ReadMessage(r, &codec.Message{}, 0)
	if err != nil || !bytes.Equal(b, small) {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
	if r.maxPeek > 4096 {
		t.Fatalf("peeked %d bytes for a %d-byte message", r.maxPeek, len(small))
	}
	r.maxPeek = 0
	if b, err = tc.Buffered.ReadMessage(r, &codec.Message{}, 0); err != nil || !bytes.Equal(b, big) {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
	if r.maxPeek > 2*len(big) {
		t.Fatalf("peeked %d bytes for a %d-byte message", r.maxPeek, len(big))
	}
}
