// Package otel holds the cross-module tests of the otel module (package
// skiffotel): traces across three Skiff hops over TTHeader and gRPC,
// metrics against the bytes on the wire and a Prometheus scrape, and
// interoperability with grpc-go's otelgrpc instrumentation.
package otel
