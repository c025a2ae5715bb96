package codectest_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/codectest"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/status"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// Pair is the toy codec's payload.
type Pair struct {
	Key string
	Val []byte
}

// toy is a tiny message codec: 0xC7, type, i32 seq, u8 method length,
// method, then a u16-prefixed key and a u32-prefixed value (for an
// exception: u32 code, u16-prefixed message). bug, if set, names one
// contract violation for Run to catch.
type toy struct{ bug string }

func (toy) Name() string { return "codectest-toy" }

func (c toy) Detect(p []byte) bool {
	return c.bug != "blind" && len(p) >= 1 && p[0] == 0xC7
}

func (c toy) Size(m *codec.Message) int {
	n := 7 + len(m.Method)
	if m.Type == codec.Exception {
		n += 4 + 2 + len(m.Err.Message())
	} else {
		p := m.Payload.(*Pair)
		n += 2 + len(p.Key) + 4 + len(p.Val)
	}
	if c.bug == "lyingSize" {
		n++
	}
	return n
}

func (c toy) Append(dst []byte, m *codec.Message) ([]byte, error) {
	switch c.bug {
	case "reallocates":
		dst = append([]byte(nil), dst...)
	case "dropsPrefix":
		dst = dst[:0]
	}
	dst = append(dst, 0xC7, byte(m.Type))
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.SeqID))
	dst = append(dst, byte(len(m.Method)))
	dst = append(dst, m.Method...)
	if m.Type == codec.Exception {
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Err.Code()))
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(m.Err.Message())))
		return append(dst, m.Err.Message()...), nil
	}
	p, ok := m.Payload.(*Pair)
	if !ok {
		return dst, fmt.Errorf("toy: payload %T", m.Payload)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(p.Key)))
	dst = append(dst, p.Key...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.Val)))
	return append(dst, p.Val...), nil
}

func (c toy) DecodeEnvelope(src []byte, m *codec.Message) (int, error) {
	if len(src) < 7 || src[0] != 0xC7 {
		if c.bug == "lenientEnvelope" && len(src) >= 2 {
			m.Type = codec.MessageType(src[1])
			return 2, nil
		}
		return 0, status.Protocolf("toy: bad envelope")
	}
	n := 7 + int(src[6])
	if len(src) < n {
		return 0, status.Protocolf("toy: short envelope")
	}
	m.Type = codec.MessageType(src[1])
	if c.bug == "shortSeq" {
		m.SeqID = int32(binary.BigEndian.Uint16(src[4:]))
	} else {
		m.SeqID = int32(binary.BigEndian.Uint32(src[2:]))
	}
	m.Method = string(src[7:n])
	return n, nil
}

func (c toy) DecodePayload(body []byte, m *codec.Message) error {
	if m.Type == codec.Exception {
		if len(body) < 6 {
			return status.Protocolf("toy: short exception")
		}
		code := status.Code(binary.BigEndian.Uint32(body))
		if c.bug == "loseCode" {
			code = status.Unknown
		}
		n := int(binary.BigEndian.Uint16(body[4:]))
		if len(body) != 6+n {
			return status.Protocolf("toy: bad exception message")
		}
		m.Err = status.New(code, string(body[6:]))
		return nil
	}
	p, ok := m.Payload.(*Pair)
	if !ok {
		return fmt.Errorf("toy: payload %T", m.Payload)
	}
	if c.bug == "panics" {
		kl := int(binary.BigEndian.Uint16(body))
		p.Key = string(body[2 : 2+kl])
		p.Val = bytes.Clone(body[2+kl+4:])
		return nil
	}
	if len(body) < 2 {
		return status.Protocolf("toy: short key")
	}
	kl := int(binary.BigEndian.Uint16(body))
	if len(body) < 2+kl+4 {
		return status.Protocolf("toy: short key")
	}
	p.Key = string(body[2 : 2+kl])
	rest := body[2+kl:]
	vl := int(binary.BigEndian.Uint32(rest))
	if len(rest) != 4+vl {
		return status.Protocolf("toy: bad value length")
	}
	if c.bug == "aliases" {
		p.Val = rest[4:]
	} else {
		p.Val = bytes.Clone(rest[4:])
	}
	return nil
}

func cases() []codectest.Case {
	newPair := func() any { return new(Pair) }
	return []codectest.Case{
		{
			Name:       "call",
			Msg:        &codec.Message{Type: codec.Call, SeqID: 1, Method: "Put", Payload: &Pair{Key: "k", Val: []byte("value")}},
			NewPayload: newPair,
		},
		{
			Name:       "reply_negative_seq",
			Msg:        &codec.Message{Type: codec.Reply, SeqID: -559038737, Method: "Put", Payload: &Pair{Key: "", Val: []byte{}}},
			NewPayload: newPair,
		},
		{
			Name:       "oneway_large",
			Msg:        &codec.Message{Type: codec.Oneway, SeqID: 1 << 30, Method: "Log", Payload: &Pair{Key: "big", Val: bytes.Repeat([]byte{1, 2, 3}, 3000)}},
			NewPayload: newPair,
			Equal: func(got, want any) bool {
				g, w := got.(*Pair), want.(*Pair)
				return g.Key == w.Key && bytes.Equal(g.Val, w.Val)
			},
		},
		codectest.Exception("exception", status.New(status.NotFound, "no such key")),
	}
}

func TestRun(t *testing.T) {
	codectest.Run(t, toy{}, cases())
}

// TestBrokenCodec runs Run on one broken codec in a child process (a
// failing Run fails its test).
func TestBrokenCodec(t *testing.T) {
	bug := os.Getenv(brokenEnv)
	if bug == "" {
		t.Skip("run by TestRunFailsOnBrokenCodecs")
	}
	codectest.Run(t, toy{bug: bug}, cases())
}

const brokenEnv = "CODECTEST_BROKEN"

func TestRunFailsOnBrokenCodecs(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("child process")
	}
	for bug, want := range map[string]string{
		"aliases":         "decoded value aliases the input",
		"lyingSize":       "Append wrote",
		"reallocates":     "Append reallocated",
		"dropsPrefix":     "returned 22 bytes, want 38",
		"panics":          "panic: runtime error",
		"lenientEnvelope": "DecodeEnvelope accepted the first 2 bytes",
		"blind":           "Detect(c7",
		"shortSeq":        "want oneway, 1073741824",
		"loseCode":        "code: unknown",
	} {
		t.Run(bug, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenCodec$", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("Run passed a broken codec:\n%s", out)
			}
			if !strings.Contains(string(out), want) {
				t.Errorf("Run's failure does not mention %q:\n%s", want, out)
			}
		})
	}
}
