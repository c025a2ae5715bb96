package transporttest_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/core/transporttest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// Text is the toy codec's payload.
type Text struct{ S string }

// toy is a tiny message codec: 0x5A, type, i32 seq, u8 method length,
// method, then a u16-prefixed string (the payload's S, or for an exception
// a u32 code first and the message).
type toy struct{}

var toyCodec codec.Codec = toy{}

func init() { codec.Register(toyCodec) }

func (toy) Name() string { return "transporttest-toy" }

func (toy) Detect(p []byte) bool {
	return len(p) >= 2 && p[0] == 0x5A && p[1] >= byte(codec.Call) && p[1] <= byte(codec.Oneway)
}

func (toy) Size(m *codec.Message) int {
	n := 7 + len(m.Method) + 2
	if m.Type == codec.Exception {
		return n + 4 + len(m.Err.Message())
	}
	return n + len(m.Payload.(*Text).S)
}

func (toy) Append(dst []byte, m *codec.Message) ([]byte, error) {
	dst = append(dst, 0x5A, byte(m.Type))
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.SeqID))
	dst = append(dst, byte(len(m.Method)))
	dst = append(dst, m.Method...)
	s := ""
	if m.Type == codec.Exception {
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Err.Code()))
		s = m.Err.Message()
	} else {
		t, ok := m.Payload.(*Text)
		if !ok {
			return dst, fmt.Errorf("toy: payload %T", m.Payload)
		}
		s = t.S
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...), nil
}

func (toy) DecodeEnvelope(src []byte, m *codec.Message) (int, error) {
	if len(src) < 7 || src[0] != 0x5A {
		return 0, status.Protocolf("toy: bad envelope")
	}
	n := 7 + int(src[6])
	if len(src) < n {
		return 0, status.Protocolf("toy: short envelope")
	}
	m.Type = codec.MessageType(src[1])
	m.SeqID = int32(binary.BigEndian.Uint32(src[2:]))
	m.Method = string(src[7:n])
	return n, nil
}

func (toy) DecodePayload(body []byte, m *codec.Message) error {
	var code uint32
	if m.Type == codec.Exception {
		if len(body) < 4 {
			return status.Protocolf("toy: short exception")
		}
		code, body = binary.BigEndian.Uint32(body), body[4:]
	}
	if len(body) < 2 || len(body) != 2+int(binary.BigEndian.Uint16(body)) {
		return status.Protocolf("toy: bad string")
	}
	s := string(body[2:])
	if m.Type == codec.Exception {
		m.Err = status.New(status.Code(code), s)
		return nil
	}
	t, ok := m.Payload.(*Text)
	if !ok {
		return fmt.Errorf("toy: payload %T", m.Payload)
	}
	t.S = s
	return nil
}

func call() *codec.Message {
	return &codec.Message{Type: codec.Call, SeqID: 7, Method: "Echo", Payload: &Text{S: "hello"}}
}

func TestRunFramed(t *testing.T) {
	transporttest.Run(t, transport.Framed, toyCodec, call)
}

func TestRunFramedException(t *testing.T) {
	transporttest.Run(t, transport.Framed, toyCodec, func() *codec.Message {
		return &codec.Message{Type: codec.Exception, SeqID: -3, Method: "Fail", Err: status.New(status.NotFound, "no such thing")}
	})
}

func TestRunFramedLarge(t *testing.T) {
	transporttest.Run(t, transport.Framed, toyCodec, func() *codec.Message {
		return &codec.Message{Type: codec.Reply, SeqID: 1 << 30, Method: "Big", Payload: &Text{S: strings.Repeat("x", 20000)}}
	})
}

func TestBufferRead(t *testing.T) {
	b := transporttest.NewBuffer()
	if _, err := b.Next(1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Next on an empty Buffer: %v", err)
	}
	_, _ = b.Write([]byte("hello world"))
	p, err := b.Peek(5)
	if err != nil || string(p) != "hello" {
		t.Fatalf("Peek(5) = %q, %v", p, err)
	}
	n, err := b.Next(6)
	if err != nil || string(n) != "hello " {
		t.Fatalf("Next(6) = %q, %v", n, err)
	}
	if err := b.Skip(2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Next(4); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Next(4) with 3 buffered: %v", err)
	}
	if b.Len() != 3 {
		t.Fatalf("a failed Next consumed bytes: Len = %d", b.Len())
	}
	if _, err := b.Peek(-1); err == nil {
		t.Error("Peek(-1): no error")
	}
	if err := b.Release(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p, []byte("h")) || bytes.Contains(n, []byte("o")) {
		t.Errorf("Release left the bytes of earlier slices intact: %q %q", p, n)
	}
	if got := b.Bytes(); string(got) != "rld" {
		t.Errorf("Bytes = %q", got)
	}
	if r, err := b.Next(3); err != nil || string(r) != "rld" {
		t.Errorf("Next(3) after Release = %q, %v", r, err)
	}
}

func TestBufferWrite(t *testing.T) {
	b := transporttest.NewBuffer()
	m, err := b.Malloc(3)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m, []byte{0xA5, 0xA5, 0xA5}) {
		t.Errorf("Malloc memory = %x, want a5a5a5", m)
	}
	copy(m, "abc")
	if _, err := b.WriteBinary([]byte("def")); err != nil {
		t.Fatal(err)
	}
	m[0] = 'X' // stale: lost
	if b.MallocLen() != 6 || b.Len() != 0 {
		t.Fatalf("MallocLen %d, Len %d", b.MallocLen(), b.Len())
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := b.Bytes(); string(got) != "abcdef" {
		t.Errorf("flushed %q, want abcdef", got)
	}
	if b.MallocLen() != 0 || b.Flushes() != 1 {
		t.Errorf("after Flush: MallocLen %d, Flushes %d", b.MallocLen(), b.Flushes())
	}
	if _, err := b.Malloc(-1); err == nil {
		t.Error("Malloc(-1): no error")
	}
	b.Reset()
	if b.Len() != 0 || b.MallocLen() != 0 || b.Flushes() != 0 {
		t.Error("Reset left state behind")
	}
}

// The broken protocols below each violate the contract in one way; Run
// must fail on each (checked in a child process, since a failing Run fails
// its test).

const brokenEnv = "TRANSPORTTEST_BROKEN"

type framedBase struct{ transport.Protocol }

type flushes struct{ framedBase }

func (p flushes) WriteMessage(w transport.Writer, m *codec.Message, c codec.Codec) error {
	if err := p.Protocol.WriteMessage(w, m, c); err != nil {
		return err
	}
	return w.Flush()
}

// readFramed reads a Framed frame; check says when to apply maxSize.
func readFramed(r transport.Reader, maxSize int, check string) ([]byte, error) {
	h, err := r.Next(4)
	if err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(h))
	if check == "before" {
		if err := transport.CheckFrameSize(int64(n), maxSize); err != nil {
			return nil, err
		}
	}
	b, err := r.Next(n)
	if err != nil {
		return nil, err
	}
	if check == "after" {
		if err := transport.CheckFrameSize(int64(n), maxSize); err != nil {
			return nil, err
		}
	}
	return b, nil
}

type noLimit struct{ framedBase }

func (noLimit) ReadMessage(r transport.Reader, _ *codec.Message, maxSize int) ([]byte, error) {
	return readFramed(r, maxSize, "never")
}

type limitLate struct{ framedBase }

func (limitLate) ReadMessage(r transport.Reader, _ *codec.Message, maxSize int) ([]byte, error) {
	return readFramed(r, maxSize, "after")
}

type releases struct{ framedBase }

func (releases) ReadMessage(r transport.Reader, _ *codec.Message, maxSize int) ([]byte, error) {
	b, err := readFramed(r, maxSize, "before")
	if err == nil {
		err = r.Release()
	}
	return b, err
}

type panics struct{ framedBase }

func (panics) ReadMessage(r transport.Reader, _ *codec.Message, maxSize int) ([]byte, error) {
	b, _ := r.Peek(r.Len())
	n := int(binary.BigEndian.Uint32(b))
	return b[4 : 4+n], r.Skip(4 + n)
}

type blind struct{ framedBase }

func (blind) Detect([]byte) bool { return false }

var broken = map[string]struct {
	p    transport.Protocol
	want string
}{
	"flushes":   {flushes{framedBase{transport.Framed}}, "WriteMessage flushed"},
	"noLimit":   {noLimit{framedBase{transport.Framed}}, "want a status.ErrProtocol error"},
	"limitLate": {limitLate{framedBase{transport.Framed}}, "before the body is read"},
	"releases":  {releases{framedBase{transport.Framed}}, "want the 18 bytes the codec wrote"},
	"panics":    {panics{framedBase{transport.Framed}}, "panic: runtime error"},
	"blind":     {blind{framedBase{transport.Framed}}, "Detect(0000001"},
}

// TestBrokenProtocol runs Run on one broken protocol in a child process.
func TestBrokenProtocol(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("run by TestRunFailsOnBrokenProtocols")
	}
	transporttest.Run(t, broken[name].p, toyCodec, call)
}

func TestRunFailsOnBrokenProtocols(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("child process")
	}
	for name, bc := range broken {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenProtocol$", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("Run passed a broken protocol:\n%s", out)
			}
			if !strings.Contains(string(out), bc.want) {
				t.Errorf("Run's failure does not mention %q:\n%s", bc.want, out)
			}
		})
	}
}

func ExampleBuffer() {
	b := transporttest.NewBuffer()
	msg := &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: &Text{S: "hi"}}
	if err := transport.Framed.WriteMessage(b, msg, toyCodec); err != nil {
		panic(err)
	}
	fmt.Println("readable before Flush:", b.Len())
	_ = b.Flush()
	body, err := transport.Framed.ReadMessage(b, new(codec.Message), 0)
	if err != nil {
		panic(err)
	}
	fmt.Printf("message of %d bytes, %d left\n", len(body), b.Len())
	_, err = transport.Framed.ReadMessage(b, new(codec.Message), 0)
	fmt.Println(err)
	// Output:
	// readable before Flush: 0
	// message of 15 bytes, 0 left
	// unexpected EOF
}
