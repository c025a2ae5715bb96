// Package otelexample shows the otel module (package skiffotel) at work:
// a client calls a Thrift echo service over TTHeader, whose handler calls a
// protobuf Greeter over gRPC, every side instrumented with the skiffotel
// suites, so the three spans form one trace.
//
// [RunStdout] exports the spans and metrics to a writer with the
// OpenTelemetry stdout exporters; `go run ./otel/cmd/otel-stdout` from the
// examples module prints them. [RunPrometheus] exports the metrics with
// the OpenTelemetry Prometheus exporter and scrapes them over HTTP;
// `go run ./otel/cmd/otel-prometheus` prints the RPC series, and with
// -listen it keeps serving /metrics for a real Prometheus to scrape.
package otelexample
