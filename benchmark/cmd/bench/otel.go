package main

import (
	"context"

	kclient "github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/transmeta"
	kserver "github.com/cloudwego/kitex/server"
	kitexotel "github.com/kitex-contrib/obs-opentelemetry/tracing"
	"github.com/skiffrpc/skiff/benchmark/grpcpb"
	kechosvc "github.com/skiffrpc/skiff/benchmark/kitex_gen/echo/echoservice"
	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	skiffclient "github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	skiffserver "github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	skiffotel "github.com/skiffrpc/skiff/otel"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	"go.opentelemetry.io/otel"
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
	otel.SetTextMapPropagator(skiffotel.DefaultPropagator())
}

// serveSkiffOtel is serveSkiff with the skiffotel server suite.
func serveSkiffOtel(addr string) error {
	otelProviders()
	svr := skiffserver.New(skiffserver.WithAddress(addr), skiffserver.WithEngine(engine.Default),
		skiffserver.WithSuite(skiffotel.NewServerSuite()))
	if err := svr.RegisterService(echo.ServiceInfo(), skiffEcho{}); err != nil {
		return err
	}
	if err := grpcpb.RegisterEchoService(svr, skiffPBEcho{}); err != nil {
		return err
	}
	return svr.Start()
}

// dialSkiffTTHeaderOtel is dialSkiffTTHeader with the skiffotel client
// suite.
func dialSkiffTTHeaderOtel(addr string, conc int) (client, error) {
	otelProviders()
	return dialSkiffTTHeaderWith(addr, conc, skiffclient.WithSuite(skiffotel.NewClientSuite()))
}

// dialSkiffTTHeaderOtel10 is dialSkiffTTHeaderOtel sampling a tenth of
// the calls (the server follows the caller's decision).
func dialSkiffTTHeaderOtel10(addr string, conc int) (client, error) {
	otelProviders(sampled10())
	return dialSkiffTTHeaderWith(addr, conc, skiffclient.WithSuite(skiffotel.NewClientSuite()))
}

// dialSkiffGRPCOtel is dialSkiffGRPC with the skiffotel client suite.
func dialSkiffGRPCOtel(addr string, _ int) (client, error) {
	otelProviders()
	return newSkiffPBClient(addr, skiffclient.WithStreamTransport(h2transport.New()),
		skiffclient.WithStreamCodec(grpccodec.Default), skiffclient.WithSuite(skiffotel.NewClientSuite()))
}

// serveKitexThriftOtel is serveKitexThriftMeta with obs-opentelemetry's
// server suite.
func serveKitexThriftOtel(addr string) error {
	otelProviders()
	a, err := kitexAddr(addr)
	if err != nil {
		return err
	}
	return runKitex(kechosvc.NewServer(&kitexThriftEcho{}, kserver.WithServiceAddr(a),
		kserver.WithMetaHandler(transmeta.ServerTTHeaderHandler), kserver.WithSuite(kitexotel.NewServerSuite())))
}

// dialKitexTTHeaderOtel is dialKitexTTHeader with obs-opentelemetry's
// client suite.
func dialKitexTTHeaderOtel(addr string, conc int) (client, error) {
	otelProviders()
	return dialKitexTTHeaderWith(addr, conc, kclient.WithSuite(kitexotel.NewClientSuite()))
}
