package ttheader_test

import (
	"context"
	"encoding/binary"
	"os"
	"strings"
	"testing"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/metainfo"
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

// backwardHandler sends one backward value per call, named after the
// method.
type backwardHandler struct{ hopHandler }

func (backwardHandler) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	metainfo.SendBackwardValue(ctx, "from-echo", "1")
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}

func (backwardHandler) Fail(ctx context.Context, code int32) (*echo.EchoResponse, error) {
	metainfo.SendBackwardValue(ctx, "from-fail", "2")
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

// Calls served from one context (an in-process Invoker's, like a
// connection's) each send back their own backward values only: Kitex's
// two-call TTHeader capture, twice with one context that carries a
// collector, gives each reply its own call's key and nothing else, and
// the caller's collector gets none of them.
func TestInvokerBackwardValuesPerCall(t *testing.T) {
	inv := server.NewInvoker()
	if err := inv.RegisterService(echo.ServiceInfo(), backwardHandler{}); err != nil {
		t.Fatal(err)
	}
	req, err := os.ReadFile("../testdata/kitex/thrift-ttheader.c2s.bin")
	if err != nil {
		t.Fatal(err)
	}
	ctx := metainfo.WithBackwardValues(context.Background())
	want := []string{"from-echo", "from-fail"}
	for round := range 2 {
		got, err := inv.Call(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		r := transporttest.NewBuffer()
		r.Write(got)
		for i := 0; r.Len() > 0; i++ {
			var msg codec.Message
			if _, err := ttheader.TTHeader.ReadMessage(r, &msg, transport.DefaultMaxFrameSize); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, kv := range msg.Meta.Strs {
				if strings.HasPrefix(kv.Key, "from-") {
					keys = append(keys, kv.Key)
				}
			}
			if i >= len(want) || len(keys) != 1 || keys[0] != want[i] {
				t.Errorf("round %d, reply %d: backward keys %v, want [%s]", round, i, keys, want[min(i, len(want)-1)])
			}
		}
	}
	for _, k := range want {
		if v, ok := metainfo.RecvBackwardValue(ctx, k); ok {
			t.Errorf("the Invoker caller's collector got %s=%q", k, v)
		}
	}
}

// TestInvokerOutOfOrderRequests: requests that offer out-of-order replies
// (as Skiff's multiplexing client sends them) get every reply from an
// Invoker, which has no connection to write late replies to: it serves
// them in order, and its replies say so.
func TestInvokerOutOfOrderRequests(t *testing.T) {
	inv := server.NewInvoker()
	if err := inv.RegisterService(echo.ServiceInfo(), backwardHandler{}); err != nil {
		t.Fatal(err)
	}
	req := transporttest.NewBuffer()
	for seq := int32(1); seq <= 8; seq++ {
		args := &echo.EchoServiceEchoArgs{Req: &echo.EchoRequest{Message: "x"}}
		msg := &codec.Message{Type: codec.Call, SeqID: seq, Method: "Echo", Payload: args, OutOfOrder: true}
		if err := ttheader.TTHeader.WriteMessage(req, msg, thriftcodec.Codec); err != nil {
			t.Fatal(err)
		}
	}
	_ = req.Flush()
	raw, _ := req.Next(req.Len())
	for round := range 20 {
		got, err := inv.Call(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		r := transporttest.NewBuffer()
		r.Write(got)
		n := 0
		for ; r.Len() > 0; n++ {
			var msg codec.Message
			if _, err := ttheader.TTHeader.ReadMessage(r, &msg, transport.DefaultMaxFrameSize); err != nil {
				t.Fatal(err)
			}
			if msg.SeqID != int32(n+1) || msg.OutOfOrder {
				t.Fatalf("round %d, reply %d: seq %d, out of order %v", round, n, msg.SeqID, msg.OutOfOrder)
			}
		}
		if n != 8 {
			t.Fatalf("round %d: %d replies to 8 requests", round, n)
		}
	}
}
