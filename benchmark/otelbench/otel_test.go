package otelbench_test

import (
	"context"
	"strings"
	"testing"
	"time"

	skiffclient "github.com/skiffrpc/skiff/core/client"
	skiffserver "github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	skiffotel "github.com/skiffrpc/skiff/otel"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

type echoHandler struct{}

func (echoHandler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}

func (echoHandler) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

func (echoHandler) Notify(context.Context, string) error { return nil }

type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// setup starts a server and a client over TTHeader with the given suites
// (none when the options are nil).
func setup(b *testing.B, sopts []skiffserver.Option, copts []skiffclient.Option) *echo.Client {
	svr := skiffserver.New(append([]skiffserver.Option{skiffserver.WithAddress("127.0.0.1:0")}, sopts...)...)
	if err := svr.RegisterService(echo.ServiceInfo(), echoHandler{}); err != nil {
		b.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svr.Stop() })
	cli, err := skiffclient.New(echo.ServiceInfo(), append([]skiffclient.Option{
		skiffclient.WithHostPorts(svr.Addr().String()), skiffclient.WithTransport(ttheader.TTHeaderFramed),
		skiffclient.WithCaller("bench")}, copts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cli.Close() })
	return echo.NewClient(cli)
}

// providers returns the SDK's providers as cmd/bench sets them up.
func providers(b *testing.B, sampler sdktrace.Sampler) []skiffotel.Option {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}), sdktrace.WithSampler(sampler))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tp.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
	})
	return []skiffotel.Option{skiffotel.WithTracerProvider(tp), skiffotel.WithMeterProvider(mp)}
}

// BenchmarkTracedCall is one Echo call of 1 KB, client and server in this
// process (allocations and CPU of both sides together): without the suites,
// with them and every call sampled (the SDK's default sampler), with a
// tenth of the traces sampled, and with metrics alone.
func BenchmarkTracedCall(b *testing.B) {
	b.Run("off", func(b *testing.B) { benchCall(b, setup(b, nil, nil)) })
	for _, tc := range []struct {
		name    string
		sampler sdktrace.Sampler
		extra   []skiffotel.Option
	}{
		{"sampled", sdktrace.ParentBased(sdktrace.AlwaysSample()), nil},
		{"ratio0.1", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1)), nil},
		{"metrics-only", sdktrace.ParentBased(sdktrace.AlwaysSample()), []skiffotel.Option{skiffotel.WithoutTracing()}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			opts := append(providers(b, tc.sampler), tc.extra...)
			benchCall(b, setup(b,
				[]skiffserver.Option{skiffserver.WithSuite(skiffotel.NewServerSuite(opts...))},
				[]skiffclient.Option{skiffclient.WithSuite(skiffotel.NewClientSuite(opts...))}))
		})
	}
}

func benchCall(b *testing.B, cli *echo.Client) {
	body := strings.Repeat("x", 1024)
	ctx := context.Background()
	b.ReportAllocs()
	var seq int64
	for b.Loop() {
		seq++
		resp, err := cli.Echo(ctx, &echo.EchoRequest{Message: body, Seq: &seq})
		if err != nil {
			b.Fatal(err)
		}
		if len(resp.Message) != len(body) || resp.GetSeq() != seq {
			b.Fatalf("echo: %d bytes, seq %d, want %d, %d", len(resp.Message), resp.GetSeq(), len(body), seq)
		}
	}
}
