package transporttest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"testing"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
)

// exhaustiveLen is the frame length up to which Run cuts or corrupts a
// frame at every byte; longer frames are sampled (see cuts).
const exhaustiveLen = 4 << 10

// Run checks that p follows the [transport.Protocol] contract, in subtests
// of t:
//
//   - Name is not empty.
//   - RoundTrip: a message written with p.WriteMessage (which must not
//     flush) is read back by p.ReadMessage, which returns exactly the bytes
//     c encodes for it and consumes the whole frame, and they decode with
//     c to the same Type, SeqID and Method.
//   - BackToBack: three messages written and flushed together are read
//     back in order, with a Release after each.
//   - Detect: p.Detect accepts the first [transport.DetectLen] bytes of a
//     written frame (all of it if shorter) and does not panic on shorter
//     prefixes.
//   - MaxSize: ReadMessage accepts the frame with maxSize set to the
//     frame's length, and rejects it with an error matching
//     [status.ErrProtocol] when maxSize is one less than the message's
//     length, also when the frame's last byte has not arrived (so the limit
//     is checked before the body is read).
//   - Truncated: every proper prefix of a frame makes ReadMessage fail
//     without panicking.
//   - Corrupted: no single corrupted byte makes ReadMessage panic.
//
// Frames longer than 4 KiB are cut and corrupted at sampled positions
// (every position in the first and last 256 bytes, every 61st in
// between).
//
// newMsg returns a new message on each call, with Type, SeqID, Method and
// Payload (or Err, for a [codec.Exception]) set, that c can encode; Run
// writes several messages with distinct SeqIDs in BackToBack. To decode a
// payload Run gives c.DecodePayload a fresh zero value of the payload's
// type: a new pointee for a pointer payload (found by reflection), the
// payload of another newMsg call otherwise. If p.Detect consults the codec
// registry (as [transport.Framed] does), c must be registered.
func Run(t *testing.T, p transport.Protocol, c codec.Codec, newMsg func() *codec.Message) {
	t.Helper()
	k := kit{p: p, c: c, newMsg: newMsg}
	t.Run("Name", func(t *testing.T) {
		if p.Name() == "" {
			t.Error("Name() is empty")
		}
	})
	t.Run("RoundTrip", k.roundTrip)
	t.Run("BackToBack", k.backToBack)
	t.Run("Detect", k.detect)
	t.Run("MaxSize", k.maxSize)
	t.Run("Truncated", k.truncated)
	t.Run("Corrupted", k.corrupted)
}

type kit struct {
	p      transport.Protocol
	c      codec.Codec
	newMsg func() *codec.Message
}

// frame writes msg with the protocol into a new Buffer and returns the
// frame and the codec's own encoding of msg.
func (k kit) frame(t *testing.T, msg *codec.Message) (frame, enc []byte) {
	t.Helper()
	enc, err := k.c.Append(nil, msg)
	if err != nil {
		t.Fatalf("codec %s: Append: %v", k.c.Name(), err)
	}
	b := NewBuffer()
	if err := call(func() error { return k.p.WriteMessage(b, msg, k.c) }); err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	if b.Flushes() != 0 || b.Len() != 0 {
		t.Errorf("WriteMessage flushed; it must leave flushing to the caller")
	}
	if b.MallocLen() == 0 {
		t.Fatalf("WriteMessage wrote nothing")
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), enc
}

// read reads one message from b and checks it against want and its
// encoding enc.
func (k kit) read(t *testing.T, b *Buffer, want *codec.Message, enc []byte) {
	t.Helper()
	m := new(codec.Message)
	var got []byte
	err := call(func() (err error) {
		got, err = k.p.ReadMessage(b, m, 0)
		return err
	})
	if err != nil {
		t.Fatalf("ReadMessage (seq %d): %v", want.SeqID, err)
	}
	if !bytes.Equal(got, enc) {
		t.Fatalf("ReadMessage (seq %d) returned %d bytes %x, want the %d bytes the codec wrote %x",
			want.SeqID, len(got), clip(got), len(enc), clip(enc))
	}
	err = call(func() error {
		n, err := k.c.DecodeEnvelope(got, m)
		if err != nil {
			return fmt.Errorf("DecodeEnvelope: %w", err)
		}
		if n < 0 || n > len(got) {
			return fmt.Errorf("DecodeEnvelope returned length %d for %d bytes", n, len(got))
		}
		if m.Type == codec.Exception {
			m.Payload = nil
		} else {
			m.Payload = freshPayload(k.newMsg)
		}
		if err := k.c.DecodePayload(got[n:], m); err != nil {
			return fmt.Errorf("DecodePayload: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("decoding the message read back (seq %d): %v", want.SeqID, err)
	}
	if m.Type != want.Type || m.SeqID != want.SeqID || m.Method != want.Method {
		t.Errorf("read back type %v, seq %d, method %q; want %v, %d, %q",
			m.Type, m.SeqID, m.Method, want.Type, want.SeqID, want.Method)
	}
}

func (k kit) roundTrip(t *testing.T) {
	msg := k.newMsg()
	frame, enc := k.frame(t, msg)
	b := NewBuffer()
	_, _ = b.Write(frame)
	k.read(t, b, msg, enc)
	if b.Len() != 0 {
		t.Errorf("ReadMessage left %d bytes of a %d-byte frame unread", b.Len(), len(frame))
	}
}

func (k kit) backToBack(t *testing.T) {
	b := NewBuffer()
	var msgs []*codec.Message
	var encs [][]byte
	for i := range 3 {
		msg := k.newMsg()
		msg.SeqID = int32(1000 + i)
		enc, err := k.c.Append(nil, msg)
		if err != nil {
			t.Fatalf("codec %s: Append: %v", k.c.Name(), err)
		}
		if err := call(func() error { return k.p.WriteMessage(b, msg, k.c) }); err != nil {
			t.Fatalf("WriteMessage (seq %d): %v", msg.SeqID, err)
		}
		msgs, encs = append(msgs, msg), append(encs, enc)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	for i, msg := range msgs {
		k.read(t, b, msg, encs[i])
		if err := b.Release(); err != nil {
			t.Fatal(err)
		}
	}
	if b.Len() != 0 {
		t.Errorf("%d bytes left after reading every message", b.Len())
	}
}

func (k kit) detect(t *testing.T) {
	frame, _ := k.frame(t, k.newMsg())
	prefix := frame[:min(len(frame), transport.DetectLen)]
	for i := range len(prefix) {
		cut := bytes.Clone(prefix[:i])
		if err := call(func() error { k.p.Detect(cut); return nil }); err != nil {
			t.Errorf("Detect of the first %d bytes: %v", i, err)
		}
	}
	var ok bool
	if err := call(func() error { ok = k.p.Detect(bytes.Clone(prefix)); return nil }); err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if !ok {
		t.Errorf("Detect(%x) = false for the first %d bytes of a frame", prefix, len(prefix))
	}
}

func (k kit) maxSize(t *testing.T) {
	frame, enc := k.frame(t, k.newMsg())
	limit := len(enc) - 1
	if limit < 1 {
		t.Skipf("a %d-byte message is too short to test the size limit", len(enc))
	}
	readWith := func(data []byte, maxSize int) error {
		b := NewBuffer()
		_, _ = b.Write(data)
		return call(func() error {
			_, err := k.p.ReadMessage(b, new(codec.Message), maxSize)
			return err
		})
	}
	if err := readWith(frame, len(frame)); err != nil {
		t.Errorf("ReadMessage with maxSize %d (the frame's length): %v", len(frame), err)
	}
	if err := readWith(frame, limit); !errors.Is(err, status.ErrProtocol) {
		t.Errorf("ReadMessage of a %d-byte message with maxSize %d: %v, want a status.ErrProtocol error", len(enc), limit, err)
	}
	if err := readWith(frame[:len(frame)-1], limit); !errors.Is(err, status.ErrProtocol) {
		t.Errorf("ReadMessage of a %d-byte message with maxSize %d, last byte missing: %v, "+
			"want a status.ErrProtocol error before the body is read", len(enc), limit, err)
	}
}

func (k kit) truncated(t *testing.T) {
	frame, _ := k.frame(t, k.newMsg())
	for _, n := range cuts(len(frame)) {
		b := NewBuffer()
		_, _ = b.Write(frame[:n])
		err := call(func() error {
			_, err := k.p.ReadMessage(b, new(codec.Message), 0)
			return err
		})
		var pe *panicError
		switch {
		case errors.As(err, &pe):
			t.Errorf("ReadMessage of the first %d of %d bytes: %v", n, len(frame), err)
		case err == nil:
			t.Errorf("ReadMessage of the first %d of %d bytes: no error", n, len(frame))
		}
	}
}

func (k kit) corrupted(t *testing.T) {
	frame, _ := k.frame(t, k.newMsg())
	for _, i := range cuts(len(frame)) {
		for _, v := range []byte{frame[i] ^ 0xff, 0, 0x80} {
			data := bytes.Clone(frame)
			data[i] = v
			b := NewBuffer()
			_, _ = b.Write(data)
			err := call(func() error {
				_, err := k.p.ReadMessage(b, new(codec.Message), 2*len(frame))
				return err
			})
			var pe *panicError
			if errors.As(err, &pe) {
				t.Errorf("ReadMessage with byte %d of %d set to %#x: %v", i, len(frame), v, err)
			}
		}
	}
}

// cuts returns the positions, below n, at which Run cuts or corrupts an
// n-byte frame.
func cuts(n int) []int {
	var out []int
	for i := 0; i < n; i++ {
		if n <= exhaustiveLen || i < 256 || i >= n-256 || i%61 == 0 {
			out = append(out, i)
		}
	}
	return out
}

// freshPayload returns an empty payload of the type newMsg uses.
func freshPayload(newMsg func() *codec.Message) any {
	p := newMsg().Payload
	if v := reflect.ValueOf(p); v.Kind() == reflect.Pointer && !v.IsNil() {
		return reflect.New(v.Type().Elem()).Interface()
	}
	return p
}

// panicError is a panic recovered by call.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v\n%s", e.value, e.stack) }

// call runs f and turns a panic into a *panicError.
func call(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return f()
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
