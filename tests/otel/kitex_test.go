package otel_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	kclient "github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	kserver "github.com/cloudwego/kitex/server"
	ktransport "github.com/cloudwego/kitex/transport"
	kitexotel "github.com/kitex-contrib/obs-opentelemetry/tracing"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	skiffotel "github.com/skiffrpc/skiff/otel"
	kecho "github.com/skiffrpc/skiff/tests/kitex/kitex_gen/echo"
	"github.com/skiffrpc/skiff/tests/kitex/kitex_gen/echo/echoservice"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// useGlobal makes tel's tracer provider and Skiff's default propagator
// the global ones for the test (Kitex's obs-opentelemetry v0.2.9 reads
// only the globals), and restores the previous ones after.
func useGlobal(t *testing.T, tel *telemetry) {
	tp, prop := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tel.tp)
	otel.SetTextMapPropagator(skiffotel.DefaultPropagator())
	t.Cleanup(func() {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(prop)
	})
}

// kitexEcho is a Kitex EchoService that answers Echo.
type kitexEcho struct{}

func (kitexEcho) Echo(_ context.Context, req *kecho.EchoRequest) (*kecho.EchoResponse, error) {
	return &kecho.EchoResponse{Message: req.Message}, nil
}
func (kitexEcho) Fail(context.Context, int32) (*kecho.EchoResponse, error) { return nil, nil }
func (kitexEcho) Notify(context.Context, string) error                     { return nil }

// TestKitexClientSkiffServer: a Kitex v0.15.2 client with
// obs-opentelemetry's client suite calls a Skiff server over TTHeader: the
// Skiff server span is the child of Kitex's client span (Kitex sends the
// trace context as transient metainfo, RPC_TRANSIT_traceparent).
func TestKitexClientSkiffServer(t *testing.T) {
	tel := newTelemetry(t)
	useGlobal(t, tel)
	addr := startHop(t, hop{}, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)))
	c, err := kclient.NewClient(echoservice.NewServiceInfoForClient(),
		kclient.WithDestService("EchoService"),
		kclient.WithHostPorts(addr),
		kclient.WithClientBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "kitex-client"}),
		kclient.WithRPCTimeout(3*time.Second),
		kclient.WithSuite(kitexotel.NewClientSuite()),
		kclient.WithTransportProtocol(ktransport.TTHeader))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cl, ok := c.(io.Closer); ok {
			_ = cl.Close()
		}
	})
	var res kecho.EchoServiceEchoResult
	if err := c.Call(context.Background(), "Echo", &kecho.EchoServiceEchoArgs{Req: &kecho.EchoRequest{Message: "hi"}}, &res); err != nil {
		t.Fatal(err)
	}
	if res.GetSuccess().GetMessage() != "hi" {
		t.Fatalf("reply %v", res.GetSuccess())
	}
	tel.waitSpans(t, 2)
	cs, ss := spanOfKind(t, tel, trace.SpanKindClient), spanOfKind(t, tel, trace.SpanKindServer)
	if ss.TraceID() != cs.TraceID() || parentOf(tel, ss).SpanID() != cs.SpanID() {
		t.Errorf("Skiff server span %v (parent %v) is not the child of Kitex's client span %v", ss, parentOf(tel, ss), cs)
	}
}

// TestSkiffClientKitexServer: a Skiff client with the client suite and
// WithMetainfoPropagation calls a Kitex v0.15.2 server with
// obs-opentelemetry's server suite over TTHeader: Kitex's server span is
// the child of the Skiff client span.
func TestSkiffClientKitexServer(t *testing.T) {
	tel := newTelemetry(t)
	useGlobal(t, tel)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svr := echoservice.NewServer(new(kitexEcho),
		kserver.WithListener(ln),
		kserver.WithExitWaitTime(100*time.Millisecond),
		kserver.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "EchoService"}),
		kserver.WithSuite(kitexotel.NewServerSuite()))
	done := make(chan error, 1)
	go func() { done <- svr.Run() }()
	t.Cleanup(func() {
		_ = svr.Stop()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("kitex server did not stop")
		}
	})
	call := thriftTTHeader().dial(t, ln.Addr().String(),
		client.WithSuite(skiffotel.NewClientSuite(append(tel.opts(), skiffotel.WithMetainfoPropagation())...)))
	var lastErr error
	for i := 0; i < 50; i++ { // the Kitex server starts listening asynchronously
		if lastErr = call(context.Background(), "hi"); lastErr == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatal(lastErr)
	}
	spans := tel.waitSpans(t, 2)
	var cs, ss trace.SpanContext
	for _, s := range spans { // failed tries before the server was up made client spans too
		if s.SpanKind == trace.SpanKindServer {
			ss = s.SpanContext
			for _, c := range spans {
				if c.SpanContext.SpanID() == s.Parent.SpanID() {
					cs = c.SpanContext
				}
			}
		}
	}
	if !ss.IsValid() || !cs.IsValid() || cs.TraceID() != ss.TraceID() {
		t.Errorf("Kitex's server span %v has no Skiff client span as its parent (spans: %v)", ss, names(spans))
	}
}
