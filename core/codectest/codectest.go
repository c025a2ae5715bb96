package codectest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"testing"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// Case is one message for [Run] to encode and decode.
type Case struct {
	// Name names the case's subtest.
	Name string
	// Msg is the message to encode: Type, SeqID, Method, and Payload, or
	// Err for a [codec.Exception]. Run does not modify it.
	Msg *codec.Message
	// NewPayload returns a fresh empty payload to decode into (such as
	// new(Args)). Required unless Msg.Type is [codec.Exception].
	NewPayload func() any
	// Equal reports whether a decoded value equals the encoded one: got is
	// the decoded Payload (the decoded Err for an exception), want is
	// Msg.Payload (Msg.Err). Nil means reflect.DeepEqual for payloads and
	// equal code and message for exceptions. Run also calls it after
	// overwriting the bytes it decoded from, so a payload type whose
	// decoded values may alias the input on purpose can ignore those
	// fields here.
	Equal func(got, want any) bool
}

// Exception returns a Case that encodes a [codec.Exception] message (method
// "Exception", SeqID -2) carrying err, and checks that the decoded Err has
// err's code and message. Pick an err the codec's wire format can carry
// (for Thrift, one made by [status.Exception]).
func Exception(name string, err *status.Error) Case {
	return Case{
		Name:  name,
		Msg:   &codec.Message{Type: codec.Exception, SeqID: -2, Method: "Exception", Err: err},
		Equal: statusEqual,
	}
}

// statusEqual compares two *status.Error values by code and message.
func statusEqual(got, want any) bool {
	g, _ := got.(*status.Error)
	w, _ := want.(*status.Error)
	if g == nil || w == nil {
		return g == nil && w == nil
	}
	return g.Code() == w.Code() && g.Message() == w.Message()
}

// exhaustiveLen is the encoding length up to which Run cuts or corrupts an
// encoding at every byte; longer ones are sampled (see cuts).
const exhaustiveLen = 4 << 10

// Run checks that c follows the [codec.Codec] contract on each case, in
// subtests of t named after the cases:
//
//   - Size: Size returns -1 or exactly the length Append writes.
//   - Append: Append appends after the bytes already in dst and keeps
//     them; when Size is known and dst has room for it, Append writes in
//     place without reallocating and without touching the capacity beyond
//     what it returns.
//   - RoundTrip: DecodeEnvelope and DecodePayload give back Type, SeqID,
//     Method and a payload (or exception) that Equal accepts, also when
//     decoding the output of an Append to a non-empty dst.
//   - NoAlias: after the input bytes are overwritten, the decoded Method and
//     value still equal the encoded ones.
//   - Detect: Detect accepts the first 8 bytes of the encoding (all of it
//     if shorter) and does not panic on shorter prefixes.
//   - Truncated: every proper prefix of the encoding decodes without
//     panicking, and one that cuts the envelope fails in DecodeEnvelope.
//     A cut payload may decode without error when its format allows it
//     (the count is logged).
//   - Corrupted: no single corrupted byte makes the decoder panic.
//
// Encodings longer than 4 KiB are cut and corrupted at sampled positions
// (every position in the first and last 256 bytes, every 61st in
// between). Decoding always reads from a slice with no spare capacity, so
// reading past its end panics instead of reading stale bytes.
func Run(t *testing.T, c codec.Codec, cases []Case) {
	t.Helper()
	t.Run("Name", func(t *testing.T) {
		if c.Name() == "" {
			t.Error("Name() is empty")
		}
	})
	for _, cs := range cases {
		k := kit{c: c, cs: cs}
		t.Run(cs.Name, func(t *testing.T) {
			if cs.Msg == nil {
				t.Fatal("Case.Msg is nil")
			}
			if cs.Msg.Type != codec.Exception && cs.NewPayload == nil {
				t.Fatal("Case.NewPayload is nil")
			}
			var err error
			k.enc, err = k.append(nil)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			t.Run("Size", k.size)
			t.Run("Append", k.appendInPlace)
			t.Run("RoundTrip", k.roundTrip)
			t.Run("NoAlias", k.noAlias)
			t.Run("Detect", k.detect)
			t.Run("Truncated", k.truncated)
			t.Run("Corrupted", k.corrupted)
		})
	}
}

type kit struct {
	c   codec.Codec
	cs  Case
	enc []byte // c's encoding of cs.Msg
}

func (k kit) append(dst []byte) (out []byte, err error) {
	err = call(func() (err error) {
		out, err = k.c.Append(dst, k.cs.Msg)
		return err
	})
	return out, err
}

// equal compares a decoded value with the encoded one.
func (k kit) equal(got any) bool {
	want := k.value(k.cs.Msg)
	if k.cs.Equal != nil {
		return k.cs.Equal(got, want)
	}
	if k.cs.Msg.Type == codec.Exception {
		return statusEqual(got, want)
	}
	return reflect.DeepEqual(got, want)
}

// value returns the payload of m, or its Err for an exception.
func (k kit) value(m *codec.Message) any {
	if k.cs.Msg.Type == codec.Exception {
		if m.Err == nil {
			return nil
		}
		return m.Err
	}
	return m.Payload
}

// decode decodes src (which it does not copy). envErr is the error of
// DecodeEnvelope, err the first error of either step or a panic.
func (k kit) decode(src []byte) (m *codec.Message, envErr, err error) {
	m = new(codec.Message)
	err = call(func() error {
		n, err := k.c.DecodeEnvelope(src, m)
		if err != nil {
			envErr = err
			return fmt.Errorf("DecodeEnvelope: %w", err)
		}
		if n < 0 || n > len(src) {
			envErr = fmt.Errorf("DecodeEnvelope returned length %d for %d bytes", n, len(src))
			return envErr
		}
		if k.cs.Msg.Type == codec.Exception {
			m.Payload = nil
		} else {
			m.Payload = k.cs.NewPayload()
		}
		if err := k.c.DecodePayload(src[n:], m); err != nil {
			return fmt.Errorf("DecodePayload: %w", err)
		}
		return nil
	})
	return m, envErr, err
}

// check decodes src and reports a mismatch with the case's message.
func (k kit) check(t *testing.T, src []byte) *codec.Message {
	t.Helper()
	m, _, err := k.decode(src)
	if err != nil {
		t.Fatalf("decoding %d bytes %x: %v", len(src), clip(src), err)
	}
	want := k.cs.Msg
	if m.Type != want.Type || m.SeqID != want.SeqID || m.Method != want.Method {
		t.Errorf("decoded type %v, seq %d, method %q; want %v, %d, %q",
			m.Type, m.SeqID, m.Method, want.Type, want.SeqID, want.Method)
	}
	if want.Type == codec.Exception {
		if m.Err == nil {
			t.Error("decoded exception has no Err")
		}
	} else if m.Err != nil {
		t.Errorf("decoded %v message has Err %v", m.Type, m.Err)
	}
	if got := k.value(m); !k.equal(got) {
		t.Errorf("decoded %s\nwant    %s", show(got), show(k.value(want)))
	}
	return m
}

func (k kit) size(t *testing.T) {
	n := k.c.Size(k.cs.Msg)
	switch {
	case n < -1:
		t.Errorf("Size = %d, want -1 or the exact length", n)
	case n >= 0 && n != len(k.enc):
		t.Errorf("Size = %d, Append wrote %d bytes", n, len(k.enc))
	}
}

func (k kit) appendInPlace(t *testing.T) {
	prefix := []byte("codectest prefix")
	const guard = 32
	const guardByte = 0xC3
	n := k.c.Size(k.cs.Msg)
	want := len(prefix) + len(k.enc)
	for _, spare := range []int{0, guard} {
		if spare == 0 && n < 0 {
			continue
		}
		full := make([]byte, len(prefix)+len(k.enc)+spare)
		for i := range full {
			full[i] = guardByte
		}
		dst := full[:copy(full, prefix)]
		out, err := k.append(dst)
		if err != nil {
			t.Fatalf("Append to a %d-byte dst with room for %d more: %v", len(dst), cap(dst)-len(dst), err)
		}
		if len(out) != want {
			t.Fatalf("Append to a %d-byte dst returned %d bytes, want %d (dst's bytes, then the %d-byte encoding)",
				len(dst), len(out), want, len(k.enc))
		}
		if !bytes.Equal(out[:len(prefix)], prefix) {
			t.Errorf("Append changed the bytes already in dst: %q", out[:len(prefix)])
		}
		if n >= 0 {
			if &out[0] != &full[0] {
				t.Errorf("Append reallocated although dst had room for the %d bytes Size reported", n)
			} else {
				for i := len(out); i < len(full); i++ {
					if full[i] != guardByte {
						t.Errorf("Append wrote past the bytes it returned (at offset %d)", i-len(prefix))
						break
					}
				}
			}
		}
		k.check(t, bytes.Clone(out[len(prefix):]))
	}
}

func (k kit) roundTrip(t *testing.T) {
	k.check(t, exact(k.enc))
}

func (k kit) noAlias(t *testing.T) {
	src := exact(k.enc)
	m := k.check(t, src)
	if t.Failed() {
		return
	}
	for i := range src {
		src[i] ^= 0xff
	}
	if m.Method != k.cs.Msg.Method {
		t.Errorf("decoded Method aliases the input: after overwriting the input it is %q, want %q", m.Method, k.cs.Msg.Method)
	}
	if got := k.value(m); !k.equal(got) {
		t.Errorf("decoded value aliases the input: after overwriting the input it is\n%s\nwant %s", show(got), show(k.value(k.cs.Msg)))
	}
}

func (k kit) detect(t *testing.T) {
	prefix := k.enc[:min(len(k.enc), 8)]
	for i := range len(prefix) {
		cut := exact(prefix[:i])
		if err := call(func() error { k.c.Detect(cut); return nil }); err != nil {
			t.Errorf("Detect of the first %d bytes: %v", i, err)
		}
	}
	var ok bool
	if err := call(func() error { ok = k.c.Detect(exact(prefix)); return nil }); err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if !ok {
		t.Errorf("Detect(%x) = false for the first %d bytes of an encoding", prefix, len(prefix))
	}
}

func (k kit) truncated(t *testing.T) {
	var envLen int
	if err := call(func() (err error) {
		envLen, err = k.c.DecodeEnvelope(exact(k.enc), new(codec.Message))
		return err
	}); err != nil {
		t.Fatalf("DecodeEnvelope: %v", err)
	}
	lenient := 0
	for _, n := range cuts(len(k.enc)) {
		_, envErr, err := k.decode(exact(k.enc[:n]))
		var pe *panicError
		switch {
		case errors.As(err, &pe):
			t.Errorf("decoding the first %d of %d bytes: %v", n, len(k.enc), err)
		case n < envLen && envErr == nil:
			t.Errorf("DecodeEnvelope accepted the first %d bytes of a %d-byte envelope", n, envLen)
		case err == nil:
			lenient++
		}
	}
	if lenient > 0 {
		t.Logf("%d of %d cuts of the payload decoded without error", lenient, len(k.enc)-envLen)
	}
}

func (k kit) corrupted(t *testing.T) {
	for _, i := range cuts(len(k.enc)) {
		for _, v := range []byte{k.enc[i] ^ 0xff, 0, 0x7f, 0x80} {
			src := exact(k.enc)
			src[i] = v
			_, _, err := k.decode(src)
			var pe *panicError
			if errors.As(err, &pe) {
				t.Errorf("decoding with byte %d of %d set to %#x: %v", i, len(k.enc), v, err)
			}
		}
	}
}

// cuts returns the positions, below n, at which Run cuts or corrupts an
// n-byte encoding.
func cuts(n int) []int {
	var out []int
	for i := 0; i < n; i++ {
		if n <= exhaustiveLen || i < 256 || i >= n-256 || i%61 == 0 {
			out = append(out, i)
		}
	}
	return out
}

// exact returns a copy of b with no spare capacity.
func exact(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
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

// show formats a decoded value for an error message.
func show(v any) string {
	if e, ok := v.(*status.Error); ok && e != nil {
		return fmt.Sprintf("*status.Error{code: %v, message: %q}", e.Code(), e.Message())
	}
	return fmt.Sprintf("%#v", v)
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
