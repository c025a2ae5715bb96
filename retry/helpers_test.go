package retry_test

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/retry"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// testCodec is a minimal message codec for these tests: magic 0xCD, type
// byte, u16 method length, method, i32 sequence id, then the payload (a
// *Bytes), or for exceptions u32 type id, u32 code and the message, so
// status codes cross the wire.
type testCodec struct{}

const codecName = "retrytest"

func init() { codec.Register(testCodec{}) }

// Bytes is the payload of every method.
type Bytes struct{ B []byte }

func (testCodec) Name() string         { return codecName }
func (testCodec) Detect(p []byte) bool { return len(p) > 0 && p[0] == 0xCD }

func (testCodec) Size(m *codec.Message) int {
	n := 8 + len(m.Method)
	if m.Type == codec.Exception {
		return n + 8 + len(m.Err.Message())
	}
	if b, ok := m.Payload.(*Bytes); ok {
		return n + len(b.B)
	}
	return -1
}

func (testCodec) Append(dst []byte, m *codec.Message) ([]byte, error) {
	dst = append(dst, 0xCD, byte(m.Type))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(m.Method)))
	dst = append(dst, m.Method...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.SeqID))
	if m.Type == codec.Exception {
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Err.TypeID()))
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Err.Code()))
		return append(dst, m.Err.Message()...), nil
	}
	if b, ok := m.Payload.(*Bytes); ok {
		return append(dst, b.B...), nil
	}
	return nil, status.Errorf(status.Internal, "retrytest: payload %T", m.Payload)
}

func (testCodec) DecodeEnvelope(src []byte, m *codec.Message) (int, error) {
	if len(src) < 4 || src[0] != 0xCD {
		return 0, status.Protocolf("retrytest: bad magic")
	}
	n := int(binary.BigEndian.Uint16(src[2:]))
	if len(src) < 8+n {
		return 0, status.Protocolf("retrytest: truncated envelope")
	}
	m.Type = codec.MessageType(src[1])
	m.Method = string(src[4 : 4+n])
	m.SeqID = int32(binary.BigEndian.Uint32(src[4+n:]))
	return 8 + n, nil
}

func (testCodec) DecodePayload(body []byte, m *codec.Message) error {
	if m.Type == codec.Exception {
		if len(body) < 8 {
			return status.Protocolf("retrytest: truncated exception")
		}
		m.Err = status.FromWire(status.Code(binary.BigEndian.Uint32(body[4:])), status.KindNone,
			int32(binary.BigEndian.Uint32(body)), string(body[8:]))
		return nil
	}
	b, ok := m.Payload.(*Bytes)
	if !ok {
		return status.Protocolf("retrytest: payload %T", m.Payload)
	}
	b.B = append(b.B[:0], body...)
	return nil
}

// handler is what a test server runs for every method.
type handler func(ctx context.Context, method string, in []byte) ([]byte, error)

// svc is the test service: Get (to be marked idempotent), Put and Notify
// (oneway).
func svc() *service.Info {
	mk := func(name string, oneway bool) *service.MethodInfo {
		mi := &service.MethodInfo{Name: name, Oneway: oneway, NewArgs: func() any { return new(Bytes) }}
		if !oneway {
			mi.NewResult = func() any { return new(Bytes) }
		}
		mi.Handler = func(ctx context.Context, impl any, args, result any) error {
			out, err := impl.(handler)(ctx, name, args.(*Bytes).B)
			if err != nil {
				return err
			}
			if result != nil {
				result.(*Bytes).B = out
			}
			return nil
		}
		return mi
	}
	return &service.Info{Name: "Svc", Codec: codecName, Methods: map[string]*service.MethodInfo{
		"Get": mk("Get", false), "Put": mk("Put", false), "Notify": mk("Notify", true),
	}}
}

// hit is one request a test server saw.
type hit struct {
	server int
	method string
	in     string
	conn   string // the client's address: one per connection
	marked bool   // it carried the retry marker (only transports with metadata carry it)
}

// hits records the requests of every test server.
type hits struct {
	mu   sync.Mutex
	list []hit
}

func (h *hits) add(x hit) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.list = append(h.list, x)
	return len(h.list)
}

func (h *hits) all() []hit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hit(nil), h.list...)
}

func (h *hits) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.list)
}

// startServer starts a test server on loopback whose handler records the
// hit (as server id) and then runs do.
func startServer(t *testing.T, id int, rec *hits, do func(ctx context.Context, n int, h hit) ([]byte, error)) string {
	t.Helper()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	var h handler = func(ctx context.Context, method string, in []byte) ([]byte, error) {
		ci := callinfo.From(ctx)
		x := hit{server: id, method: method, in: string(in), conn: ci.RemoteAddr.String()}
		x.marked = retry.IsRetryRequest(ctx)
		n := rec.add(x)
		if do == nil {
			return in, nil
		}
		return do(ctx, n, x)
	}
	if err := svr.RegisterService(svc(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr.Addr().String()
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func newClient(t *testing.T, opts ...client.Option) *client.Client {
	t.Helper()
	cli, err := client.New(svc(), append([]client.Option{client.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func call(ctx context.Context, cli *client.Client, method, in string, opts ...client.CallOption) (string, error) {
	var out Bytes
	err := cli.Call(ctx, method, &Bytes{B: []byte(in)}, &out, opts...)
	return string(out.B), err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}
