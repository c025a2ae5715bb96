// Package skiffotel instruments Skiff clients and servers with
// OpenTelemetry: a span per call (a span per stream, with message events),
// the RPC metrics of the semantic conventions, and W3C trace context and
// baggage carried in the call's neutral metadata (callinfo.Info.Request),
// so traces cross TTHeader and gRPC hops alike and join those of grpc-go's
// otelgrpc and Kitex's obs-opentelemetry.
//
// Install it with one option on each side:
//
//	cli, err := client.New(svc, client.WithSuite(skiffotel.NewClientSuite()))
//	svr := server.New(server.WithSuite(skiffotel.NewServerSuite()))
//
// Spans and metrics follow the RPC semantic conventions (semconv v1.37):
// rpc.system ("thrift", "kitex_protobuf" or "grpc", from the call's codec),
// rpc.service, rpc.method, server.address and server.port (client),
// network.peer.address and network.peer.port, rpc.grpc.status_code on gRPC
// and error.type on failures. The instruments are rpc.client.duration and
// rpc.server.duration (milliseconds), rpc.{client,server}.request.size and
// response.size (bytes on the wire, per call), and, for streams,
// rpc.{client,server}.requests_per_rpc and responses_per_rpc.
//
// Outcomes are told apart: a declared exception (status.KindDeclared) and a
// business error (*status.BizError) are answers, not failures; their spans
// keep an unset status and carry skiff.rpc.outcome ("declared_exception",
// "business_error") and, for business errors, skiff.rpc.biz_status_code.
// Failures set the span status to Error, error.type to the failure's kind
// (such as "timeout") or code, and rpc.grpc.status_code on gRPC.
//
// When a call is tried more than once (a retry or a backup request), each
// attempt shows as an "rpc.attempt" span event with its number, address and
// outcome.
//
// The stats level decides how much is recorded: stats.LevelDisabled turns
// this instrumentation off for the client or server (a call costs a few
// nanoseconds more than without it), LevelBase records spans and metrics,
// and LevelDetailed (the default once a tracer is installed) adds message
// events on streams.
//
// [NewLogHandler] wraps a slog.Handler so that log records made with a
// call's context carry its trace_id and span_id.
package skiffotel
