package skiffotel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracers and meters this
// package creates.
const ScopeName = "github.com/skiffrpc/skiff/otel"

// Option configures the client or server instrumentation.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	tp         trace.TracerProvider
	mp         metric.MeterProvider
	prop       propagation.TextMapPropagator
	noTracing  bool
	noMetrics  bool
	noMessages bool
	metainfo   bool
}

func newConfig(opts []Option) *config {
	c := &config{}
	for _, o := range opts {
		o.apply(c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.prop == nil {
		c.prop = DefaultPropagator()
	}
	return c
}

// DefaultPropagator returns the propagator used unless WithPropagators
// says otherwise: W3C trace context and W3C baggage. It is not the global
// propagator of go.opentelemetry.io/otel, which propagates nothing until
// set; pass otel.GetTextMapPropagator() to use that one.
func DefaultPropagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// WithTracerProvider sets where spans go (default: the global
// otel.GetTracerProvider() at the time the suite is built).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// WithMeterProvider sets where metrics go (default: the global
// otel.GetMeterProvider() at the time the suite is built).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.mp = mp })
}

// WithPropagators sets how trace context and baggage travel in the call's
// metadata (default [DefaultPropagator]: W3C traceparent, tracestate and
// baggage keys, as otelgrpc and Kitex's obs-opentelemetry send them).
func WithPropagators(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) { c.prop = p })
}

// WithoutTracing turns spans off (metrics stay, and trace context still
// propagates: incoming context is passed on to calls the handler makes).
func WithoutTracing() Option { return optionFunc(func(c *config) { c.noTracing = true }) }

// WithoutMetrics turns metrics off.
func WithoutMetrics() Option { return optionFunc(func(c *config) { c.noMetrics = true }) }

// WithoutMessageEvents stops recording a span event per stream message,
// which LevelDetailed otherwise records (message counts still go to the
// requests_per_rpc and responses_per_rpc histograms).
func WithoutMessageEvents() Option { return optionFunc(func(c *config) { c.noMessages = true }) }

// WithMetainfoPropagation makes the client also send the trace context and
// baggage as transient metainfo values (core/metainfo), which TTHeader
// carries as RPC_TRANSIT_ keys: that is where Kitex's obs-opentelemetry
// server looks for them. It costs a few more header bytes and
// allocations per call; turn it on for clients that call Kitex servers.
// Servers always read both places: the request metadata first, then the
// transient metainfo values a Kitex client sends.
func WithMetainfoPropagation() Option { return optionFunc(func(c *config) { c.metainfo = true }) }
