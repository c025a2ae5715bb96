package skiffotel_test

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	skiffotel "github.com/skiffrpc/skiff/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// The tests here run a real Skiff server and client on loopback with a
// small test codec ("otest") over the Framed transport. Framed carries no
// metadata, so propagation across the wire is shown in tests/otel (TTHeader
// and gRPC); here client and server spans are checked on their own.

const codecName = "otest"

// msg is the payload of a call and of a reply: text, and for a reply a
// declared exception's message.
type msg struct {
	Text string
	Exc  string
}

// DeclaredException implements service.ExceptionResult.
func (m *msg) DeclaredException() error {
	if m.Exc == "" {
		return nil
	}
	return errors.New(m.Exc)
}

type testCodec struct{}

func init() { codec.Register(testCodec{}) }

func (testCodec) Name() string            { return codecName }
func (testCodec) Detect(p []byte) bool    { return len(p) > 0 && p[0] == 0xC5 }
func (testCodec) Size(*codec.Message) int { return -1 }

func (testCodec) Append(dst []byte, m *codec.Message) ([]byte, error) {
	dst = append(dst, 0xC5, byte(m.Type))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(m.Method)))
	dst = append(dst, m.Method...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.SeqID))
	if m.Type == codec.Exception {
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Err.TypeID()))
		return append(dst, m.Err.Message()...), nil
	}
	p, ok := m.Payload.(*msg)
	if !ok {
		return nil, status.Protocolf("otest: payload %T", m.Payload)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(p.Exc)))
	dst = append(dst, p.Exc...)
	return append(dst, p.Text...), nil
}

func (testCodec) DecodeEnvelope(src []byte, m *codec.Message) (int, error) {
	if len(src) < 4 || src[0] != 0xC5 {
		return 0, status.Protocolf("otest: bad magic")
	}
	n := int(binary.BigEndian.Uint16(src[2:]))
	if len(src) < 8+n {
		return 0, status.Protocolf("otest: short envelope")
	}
	m.Type = codec.MessageType(src[1])
	m.Method = string(src[4 : 4+n])
	m.SeqID = int32(binary.BigEndian.Uint32(src[4+n:]))
	return 8 + n, nil
}

func (testCodec) DecodePayload(b []byte, m *codec.Message) error {
	if m.Type == codec.Exception {
		if len(b) < 4 {
			return status.Protocolf("otest: short exception")
		}
		m.Err = status.Exception(int32(binary.BigEndian.Uint32(b)), string(b[4:]))
		return nil
	}
	p, ok := m.Payload.(*msg)
	if !ok || len(b) < 2 {
		return status.Protocolf("otest: bad payload")
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return status.Protocolf("otest: short payload")
	}
	p.Exc, p.Text = string(b[2:2+n]), string(b[2+n:])
	return nil
}

// behave answers a request by its text: "ok" echoes, "declared" returns a
// declared exception, "biz" a business error, "notfound" a NotFound
// status, "internal" an Internal one, "sleep" sleeps 300 ms, "panic"
// panics.
func behave(ctx context.Context, in *msg, out *msg) error {
	switch in.Text {
	case "declared":
		out.Exc = "no such item"
	case "biz":
		return status.NewBizError(4001, "quota used up")
	case "notfound":
		return status.New(status.NotFound, "no such thing")
	case "internal":
		return status.New(status.Internal, "broken")
	case "sleep":
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
		}
	case "panic":
		panic("handler panicked")
	}
	out.Text = in.Text
	return nil
}

// handlerFunc is the test service's implementation.
type handlerFunc func(ctx context.Context, in, out *msg) error

func svcInfo() *service.Info {
	var h service.Handler = func(ctx context.Context, impl, args, result any) error {
		return impl.(handlerFunc)(ctx, args.(*msg), result.(*msg))
	}
	newMsg := func() any { return new(msg) }
	return &service.Info{Name: "Svc", Codec: codecName, Methods: map[string]*service.MethodInfo{
		"Echo": {Name: "Echo", Handler: h, NewArgs: newMsg, NewResult: newMsg},
	}}
}

var quiet = slog.New(slog.DiscardHandler)

// telemetry is an in-memory trace and metric pipeline.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T) *telemetry {
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

func (tel *telemetry) opts() []skiffotel.Option {
	return []skiffotel.Option{skiffotel.WithTracerProvider(tel.tp), skiffotel.WithMeterProvider(tel.mp)}
}

// metrics collects the metrics recorded so far, by name.
func (tel *telemetry) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// startServer starts a server of the test service on loopback.
func startServer(t *testing.T, h handlerFunc, opts ...server.Option) string {
	t.Helper()
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, opts...)...)
	if err := svr.RegisterService(svcInfo(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr.Addr().String()
}

// newClient returns a client of the test service calling addr.
func newClient(t *testing.T, addr string, opts ...client.Option) *client.Client {
	t.Helper()
	cli, err := client.New(svcInfo(), append([]client.Option{client.WithHostPorts(addr), client.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// call calls Echo with text.
func call(ctx context.Context, cli *client.Client, text string, opts ...client.CallOption) (*msg, error) {
	out := new(msg)
	err := cli.Call(ctx, "Echo", &msg{Text: text}, out, opts...)
	return out, err
}
