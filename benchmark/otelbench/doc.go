// Package otelbench measures what the skiffotel suites cost one call of a
// real Skiff server and client on loopback (TTHeader, examples/echo, 1 KB),
// in one process, with the OpenTelemetry SDK set up as cmd/bench sets it:
// spans batched to an exporter that drops them, metrics aggregated in
// memory. Its benchmarks are where allocation sites and CPU profiles of the
// instrumentation come from (go test -bench . -memprofile ...); the QPS
// comparison, with server and client in pinned processes, is cmd/benchdrive's
// skiff-ttheader against skiff-ttheader-otel.
package otelbench
