package thriftcodec_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	tc "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// FuzzDecode decodes arbitrary bytes as a message: errors must be protocol
// errors; a decoded message must re-encode and decode to the same value, the
// fast path must consume exactly what Skip measures, and a raw payload
// (codec.Raw) must hold exactly those bytes (checkRaw). The seed corpus in
// testdata/fuzz/FuzzDecode holds the messages of the Kitex captures.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		msg := &codec.Message{}
		n, err := tc.Codec.DecodeEnvelope(data, msg)
		if err != nil {
			checkProtocolError(t, "envelope", err)
			return
		}
		body := data[n:]
		skipLen, skipErr := tc.Skip(body, tc.TypeStruct, tc.MaxDepth)

		if msg.Type == codec.Exception {
			err := tc.Codec.DecodePayload(body, msg)
			if (err == nil) != (skipErr == nil) {
				t.Fatalf("exception: DecodePayload %v, Skip %v", err, skipErr)
			}
			if err != nil {
				checkProtocolError(t, "exception", err)
				return
			}
			again := &codec.Message{}
			b := encode(t, msg)
			m, err := tc.Codec.DecodeEnvelope(b, again)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.Codec.DecodePayload(b[m:], again); err != nil {
				t.Fatal(err)
			}
			if again.Err.TypeID() != msg.Err.TypeID() || again.Err.Message() != msg.Err.Message() || again.Method != msg.Method || again.SeqID != msg.SeqID {
				t.Fatalf("exception round trip: %v, want %v", again.Err, msg.Err)
			}
			return
		}

		// The TStruct path must fail with protocol errors only.
		p := payloadFor(msg.Method, msg.Type == codec.Reply)
		if p == nil {
			p = echoArgs(nil)
		}
		w := p.(*wrapper)
		slow := *w
		if err := tc.Codec.DecodePayload(body, &codec.Message{Type: msg.Type, Payload: slowOnly{&slow}}); err != nil {
			checkProtocolError(t, "tstruct", err)
		}
		// So must a nil payload, which Skip checks.
		if err := tc.Codec.DecodePayload(body, &codec.Message{Type: msg.Type}); (err == nil) != (skipErr == nil) {
			t.Fatalf("nil payload: %v, Skip: %v", err, skipErr)
		}
		checkRaw(t, data[:n], body, msg, skipLen, skipErr)

		fresh := *w
		consumed, err := fresh.FastRead(body)
		msg.Payload = w
		if derr := tc.Codec.DecodePayload(body, msg); (derr == nil) != (err == nil) {
			t.Fatalf("DecodePayload %v, FastRead %v", derr, err)
		} else if derr != nil {
			checkProtocolError(t, "fast", derr)
			return
		}
		if skipErr == nil && consumed != skipLen {
			t.Fatalf("FastRead consumed %d bytes, Skip measured %d", consumed, skipLen)
		}

		b := encode(t, msg)
		again := &codec.Message{}
		m, err := tc.Codec.DecodeEnvelope(b, again)
		if err != nil {
			t.Fatal(err)
		}
		w2 := &wrapper{msgID: w.msgID, errID: w.errID, i32ID: w.i32ID}
		again.Payload = w2
		if err := tc.Codec.DecodePayload(b[m:], again); err != nil {
			t.Fatalf("decoding the re-encoded message: %v\n%x", err, b)
		}
		if !reflect.DeepEqual(w, w2) || again.Method != msg.Method || again.SeqID != msg.SeqID || again.Type != msg.Type {
			t.Fatalf("round trip:\n got %+v\nwant %+v", w2, w)
		}
	})
}

// checkRaw decodes body into a *codec.Raw: it must fail exactly when Skip
// does, with a protocol error, and otherwise hold a copy of the struct Skip
// measured, which re-encodes to the original message (envelope included).
func checkRaw(t *testing.T, env, body []byte, msg *codec.Message, skipLen int, skipErr error) {
	t.Helper()
	var raw codec.Raw
	err := tc.Codec.DecodePayload(body, &codec.Message{Type: msg.Type, Payload: &raw})
	if (err == nil) != (skipErr == nil) {
		t.Fatalf("raw payload: %v, Skip: %v", err, skipErr)
	}
	if err != nil {
		checkProtocolError(t, "raw", err)
		return
	}
	if !bytes.Equal(raw, body[:skipLen]) {
		t.Fatalf("raw payload %x, want the %d bytes Skip measured", raw, skipLen)
	}
	if len(raw) > 0 && &raw[0] == &body[0] {
		t.Fatal("raw payload aliases the body")
	}
	b := encode(t, &codec.Message{Type: msg.Type, Method: msg.Method, SeqID: msg.SeqID, Payload: raw})
	if want := append(append([]byte(nil), env...), body[:skipLen]...); !bytes.Equal(b, want) {
		t.Fatalf("raw re-encoding:\n got %x\nwant %x", b, want)
	}
}

// FuzzBuffered reads arbitrary bytes, arriving chunk bytes at a time, with
// the Buffered transport. Its length finder must agree with DecodeEnvelope
// plus Skip: the same length for a message within the limit, and an error
// otherwise (a protocol error, or io.EOF when it waits for bytes that never
// come). The seed corpus in testdata/fuzz/FuzzBuffered holds the Kitex
// captures.
func FuzzBuffered(f *testing.F) {
	const limit = 1 << 12
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		r := newMemReader(data, int(chunk))
		b, err := tc.Buffered.ReadMessage(r, &codec.Message{}, limit)
		if err != nil && err != io.EOF {
			checkProtocolError(t, "buffered", err)
		}

		ref, refErr := func() (int, error) {
			n, err := tc.Codec.DecodeEnvelope(data, &codec.Message{})
			if err != nil {
				return 0, err
			}
			m, err := tc.Skip(data[n:], tc.TypeStruct, tc.MaxDepth)
			return n + m, err
		}()
		switch {
		case refErr == nil && ref <= limit:
			if err != nil || !bytes.Equal(b, data[:ref]) {
				t.Fatalf("read %d bytes (%v), want the %d-byte message", len(b), err, ref)
			}
		case refErr == nil:
			if !errors.Is(err, status.ErrProtocol) {
				t.Fatalf("a %d-byte message over the %d limit gave %v", ref, limit, err)
			}
		default:
			if err == nil {
				t.Fatalf("read %d bytes; DecodeEnvelope+Skip say %v", len(b), refErr)
			}
		}
	})
}
