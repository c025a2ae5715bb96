package ttheader_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// rawThrift is a tiny Thrift Binary message codec for tests: a strict
// envelope (version 1, type, method, seq id), then the payload bytes as
// they are (*Raw). It is enough to re-encode the captured Kitex messages
// byte for byte.
type rawThrift struct{}

// Raw is the payload of rawThrift: the encoded struct bytes.
type Raw struct{ B []byte }

var rawCodec codec.Codec = rawThrift{}

func (rawThrift) Name() string { return "rawthrift" }

func (rawThrift) Detect(p []byte) bool { return len(p) >= 2 && p[0] == 0x80 && p[1] == 0x01 }

func (rawThrift) Size(m *codec.Message) int {
	n := 12 + len(m.Method)
	if m.Type == codec.Exception {
		return n + 4 + len(m.Err.Message())
	}
	if r, ok := m.Payload.(*Raw); ok {
		return n + len(r.B)
	}
	return -1
}

func (rawThrift) Append(dst []byte, m *codec.Message) ([]byte, error) {
	dst = binary.BigEndian.AppendUint32(dst, 0x80010000|uint32(m.Type))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Method)))
	dst = append(dst, m.Method...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.SeqID))
	if m.Type == codec.Exception {
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Err.TypeID()))
		return append(dst, m.Err.Message()...), nil
	}
	r, ok := m.Payload.(*Raw)
	if !ok {
		return dst, fmt.Errorf("rawthrift: payload %T", m.Payload)
	}
	return append(dst, r.B...), nil
}

func (rawThrift) DecodeEnvelope(src []byte, m *codec.Message) (int, error) {
	if len(src) < 12 || src[0] != 0x80 || src[1] != 0x01 {
		return 0, status.Protocolf("rawthrift: bad envelope")
	}
	n := int(binary.BigEndian.Uint32(src[4:]))
	if n < 0 || len(src)-12 < n {
		return 0, status.Protocolf("rawthrift: short envelope")
	}
	m.Type = codec.MessageType(src[3])
	m.Method = string(src[8 : 8+n])
	m.SeqID = int32(binary.BigEndian.Uint32(src[8+n:]))
	return 12 + n, nil
}

func (rawThrift) DecodePayload(body []byte, m *codec.Message) error {
	if m.Type == codec.Exception {
		if len(body) < 4 {
			return status.Protocolf("rawthrift: short exception")
		}
		m.Err = status.Exception(int32(binary.BigEndian.Uint32(body)), string(body[4:]))
		return nil
	}
	r, ok := m.Payload.(*Raw)
	if !ok {
		return fmt.Errorf("rawthrift: payload %T", m.Payload)
	}
	r.B = append(r.B[:0], body...)
	return nil
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splitFrames cuts b into frames by their u32 LENGTH fields.
func splitFrames(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("%d trailing bytes", len(b))
		}
		n := 4 + int(binary.BigEndian.Uint32(b))
		if n > len(b) {
			t.Fatalf("frame of %d bytes, %d left", n, len(b))
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// golden is the vector of the reference §2.4: TTHeaderFramed, seq 1,
// isn=Svc, int 9=Echo, Thrift CALL Echo seq 1 with an empty args struct.
var golden = []byte{
	0x00, 0x00, 0x00, 0x3b, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07,
	0x00, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x03, 0x69, 0x73, 0x6e, 0x00, 0x03, 0x53, 0x76, 0x63,
	0x10, 0x00, 0x01, 0x00, 0x09, 0x00, 0x04, 0x45, 0x63, 0x68, 0x6f,
	0x00, 0x00,
	0x00, 0x00, 0x00, 0x11,
	0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x45, 0x63, 0x68, 0x6f, 0x00, 0x00, 0x00, 0x01, 0x00,
}
