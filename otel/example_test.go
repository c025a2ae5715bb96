package skiffotel_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	skiffotel "github.com/skiffrpc/skiff/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A client and a server instrumented with the suites: each call makes a
// client span and a server span (here recorded in memory).
func Example() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())

	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
		server.WithSuite(skiffotel.NewServerSuite(skiffotel.WithTracerProvider(tp))))
	if err := svr.RegisterService(svcInfo(), handlerFunc(behave)); err != nil {
		panic(err)
	}
	if err := svr.Start(); err != nil {
		panic(err)
	}
	defer svr.Stop()

	cli, err := client.New(svcInfo(), client.WithHostPorts(svr.Addr().String()),
		client.WithSuite(skiffotel.NewClientSuite(skiffotel.WithTracerProvider(tp))))
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	if _, err := call(context.Background(), cli, "ok"); err != nil {
		panic(err)
	}
	svr.Stop() // the server span has ended once the server has stopped

	for _, s := range spans.Ended() {
		fmt.Println(s.SpanKind(), s.Name())
	}
	// Unordered output:
	// client Svc/Echo
	// server Svc/Echo
}

// NewLogHandler adds the trace and span ids of the context's span to log
// records.
func ExampleNewLogHandler() {
	logger := slog.New(skiffotel.NewLogHandler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // deterministic output
			}
			return a
		},
	})))
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	logger.InfoContext(ctx, "served")
	logger.Info("no span")
	// Output:
	// level=INFO msg=served trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7
	// level=INFO msg="no span"
}

// MetadataCarrier lets any OpenTelemetry propagator read and write a
// call's metadata.
func ExampleMetadataCarrier() {
	var md callinfo.Metadata
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	propagation.TraceContext{}.Inject(ctx, skiffotel.MetadataCarrier{MD: &md})
	v, _ := md.Get("traceparent")
	fmt.Println(v)

	back := propagation.TraceContext{}.Extract(context.Background(), skiffotel.MetadataCarrier{MD: &md})
	fmt.Println(trace.SpanContextFromContext(back).TraceID())
	// Output:
	// 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
	// 4bf92f3577b34da6a3ce929d0e0e4736
}
