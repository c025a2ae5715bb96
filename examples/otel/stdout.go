package otelexample

import (
	"context"
	"io"
	"log/slog"
	"sync"

	skiffotel "github.com/skiffrpc/skiff/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

// RunStdout makes calls calls through the two services with spans and
// metrics exported to w as JSON by the OpenTelemetry stdout exporters (the
// spans as they end, the metrics once at the end), and logs the frontend's
// handler lines, with their trace_id and span_id, to w too.
func RunStdout(w io.Writer, calls int) error {
	w = &lockedWriter{w: w} // exporters and the logger write from several goroutines
	res := resource.NewSchemaless(semconv.ServiceName("otel-example"))
	spanExp, err := stdouttrace.New(stdouttrace.WithWriter(w), stdouttrace.WithPrettyPrint())
	if err != nil {
		return err
	}
	// WithSyncer exports each span as it ends: fine for an example; use
	// WithBatcher in a service.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spanExp), sdktrace.WithResource(res))
	metricExp, err := stdoutmetric.New(stdoutmetric.WithWriter(w), stdoutmetric.WithPrettyPrint())
	if err != nil {
		return err
	}
	// A periodic reader exports on Shutdown too, which is all this short
	// run needs.
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)), sdkmetric.WithResource(res))

	log := slog.New(skiffotel.NewLogHandler(slog.NewJSONHandler(w, nil)))
	sys, err := start(log, skiffotel.WithTracerProvider(tp), skiffotel.WithMeterProvider(mp))
	if err != nil {
		return err
	}
	for i := 0; i < calls && err == nil; i++ {
		err = sys.call(context.Background(), "otel")
	}
	sys.stop()
	ctx := context.Background()
	if serr := tp.Shutdown(ctx); err == nil {
		err = serr
	}
	if serr := mp.Shutdown(ctx); err == nil {
		err = serr
	}
	return err
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
