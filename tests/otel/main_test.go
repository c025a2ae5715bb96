package otel_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/skiffrpc/skiff/core/leaktest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	skiffotel "github.com/skiffrpc/skiff/otel"
)

func TestMain(m *testing.M) {
	klog.SetLevel(klog.LevelFatal)
	leaktest.VerifyTestMain(m, kitexIgnores...)
}

// kitexIgnores are Kitex's process-wide background goroutines, started by
// its first client or server and kept for the life of the process.
var kitexIgnores = []leaktest.Option{
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/client.(*timeoutPool).createTicker.func1"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/client.(*timeoutPool).createWorker.func1"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/utils.(*SharedTicker).Tick"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/loadbalance/lbcache.(*BalancerFactory).watcher"),
}

// quiet is the logger of every server and client here.
var quiet = slog.New(slog.DiscardHandler)

// telemetry is an in-memory trace and metric pipeline: the SDK's
// in-memory span exporter (behind a synchronous processor) and a manual
// metric reader.
type telemetry struct {
	exp    *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T) *telemetry {
	tel := &telemetry{exp: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tel.exp))
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

// waitSpans waits until n spans have ended and returns them.
func (tel *telemetry) waitSpans(t *testing.T, n int) tracetest.SpanStubs {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans := tel.exp.GetSpans()
		if len(spans) >= n {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spans ended, want %d: %v", len(spans), n, names(spans))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.SpanKind.String()+" "+s.Name)
	}
	return out
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
