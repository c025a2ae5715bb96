//go:build !noskiff || !nokitex

package main

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The -otel frameworks run with OpenTelemetry tracing and metrics on, as a
// production service would have them: the SDK samples every call, batches
// the spans to an exporter (one that drops them: the cost measured is the
// instrumentation's and the SDK's, not a collector's), and aggregates the
// metrics in memory (a reader nobody collects). Skiff uses the skiffotel
// suites; Kitex its obs-opentelemetry suites, which read the global
// providers.

// discardExporter drops the spans it is given.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// sampled10 is the sampler of the -otel10 frameworks: a tenth of the
// traces that start here, and whatever the caller decided for the others
// (the SDK's default is ParentBased(AlwaysSample())).
func sampled10() sdktrace.Sampler {
	return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))
}

// otelProviders sets the process's global tracer and meter providers and
// propagator (a bench process serves or dials once). Spans are sampled by
// the SDK's default sampler, or by the one given.
func otelProviders(sampler ...sdktrace.Sampler) {
	topts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(discardExporter{})}
	if len(sampler) > 0 {
		topts = append(topts, sdktrace.WithSampler(sampler[0]))
	}
	otel.SetTracerProvider(sdktrace.NewTracerProvider(topts...))
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})) // W3C trace context and baggage, as skiffotel.DefaultPropagator
}
