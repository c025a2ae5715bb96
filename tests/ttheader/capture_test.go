package ttheader_test

import (
	"context"
	"encoding/binary"
	"os"
	"testing"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/core/transporttest"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// Kitex's own TTHeader and TTHeader+Framed requests (Echo, then Fail(7))
// get the replies Kitex's server gave: same framing, sequence ids,
// message types and decoded results.
func TestKitexCaptures(t *testing.T) {
	inv := server.NewInvoker()
	if err := inv.RegisterService(echo.ServiceInfo(), hopHandler{func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
		return &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}, nil
	}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"thrift-ttheader", "thrift-ttheader-framed"} {
		t.Run(name, func(t *testing.T) {
			req, err := os.ReadFile("../testdata/kitex/" + name + ".c2s.bin")
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile("../testdata/kitex/" + name + ".s2c.bin")
			if err != nil {
				t.Fatal(err)
			}
			got, err := inv.Call(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			g, w := replies(t, got), replies(t, want)
			if len(g) != len(w) {
				t.Fatalf("%d replies, Kitex sent %d", len(g), len(w))
			}
			for i := range g {
				if g[i].framed != w[i].framed || g[i].seq != w[i].seq || g[i].typ != w[i].typ || g[i].method != w[i].method || g[i].result != w[i].result {
					t.Fatalf("reply %d: got %+v, Kitex sent %+v", i, g[i], w[i])
				}
			}
		})
	}
}

type reply struct {
	framed bool
	seq    int32
	typ    codec.MessageType
	method string
	result string
}

// replies splits a stream of TTHeader frames and decodes the Thrift replies.
func replies(t *testing.T, b []byte) []reply {
	t.Helper()
	var out []reply
	r := transporttest.NewBuffer()
	if _, err := r.Write(b); err != nil {
		t.Fatal(err)
	}
	for r.Len() > 0 {
		msg := &codec.Message{}
		payload, err := ttheader.TTHeader.ReadMessage(r, msg, transport.DefaultMaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
		framed := msg.ProtocolID&ttheader.FramedPayload != 0
		n, err := thriftcodec.Codec.DecodeEnvelope(payload, msg)
		if err != nil {
			t.Fatal(err)
		}
		res := echo.ServiceInfo().Method(msg.Method).NewResult()
		msg.Payload = res
		if err := thriftcodec.Codec.DecodePayload(payload[n:], msg); err != nil {
			t.Fatal(err)
		}
		out = append(out, reply{framed, msg.SeqID, msg.Type, msg.Method, describe(res)})
	}
	return out
}

func describe(v any) string {
	switch r := v.(type) {
	case *echo.EchoServiceEchoResult:
		s := r.Success
		return s.Message + "|" + string(binary.BigEndian.AppendUint64(nil, uint64(s.GetSeq()))) + "|" + s.Extra["k"] + s.Extra["i"] + "|" + string(s.Blob)
	case *echo.EchoServiceFailResult:
		if r.Err != nil {
			return r.Err.Error()
		}
	}
	return "?"
}
