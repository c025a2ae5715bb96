package otel_test

import (
	"context"
	"net"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	skiffotel "github.com/skiffrpc/skiff/otel"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// greeterPath is the gRPC path of Greeter.SayHello.
const greeterPath = "/greeter.v1.Greeter/SayHello"

// grpcGreeter is a grpc-go implementation of Greeter.SayHello that
// records the baggage it received.
type grpcGreeter struct{ bag chan string }

func (g *grpcGreeter) sayHello(ctx context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	g.bag <- baggage.FromContext(ctx).Member("tenant").Value()
	return &greeterpb.HelloReply{Message: req.Name}, nil
}

// greeterDesc describes Greeter to grpc-go by hand (only SayHello).
var greeterDesc = grpc.ServiceDesc{
	ServiceName: "greeter.v1.Greeter",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "SayHello", Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		req := new(greeterpb.HelloRequest)
		if err := dec(req); err != nil {
			return nil, err
		}
		return srv.(*grpcGreeter).sayHello(ctx, req)
	}}},
}

// baggageHop is a Skiff Greeter that records the baggage it received.
type baggageHop struct {
	hop
	bag chan string
}

func (h baggageHop) SayHello(ctx context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	h.bag <- baggage.FromContext(ctx).Member("tenant").Value()
	return h.hop.SayHello(ctx, req)
}

// withBaggage returns ctx with the baggage member tenant=acme.
func withBaggage(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	m, err := baggage.NewMember("tenant", "acme")
	if err != nil {
		t.Fatal(err)
	}
	b, err := baggage.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return baggage.ContextWithBaggage(ctx, b)
}

// spanOfKind returns the one span of kind, failing otherwise.
func spanOfKind(t *testing.T, tel *telemetry, kind trace.SpanKind) trace.SpanContext {
	t.Helper()
	var found []trace.SpanContext
	for _, s := range tel.exp.GetSpans() {
		if s.SpanKind == kind {
			found = append(found, s.SpanContext)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %v spans", len(found), kind)
	}
	return found[0]
}

// parentOf returns the parent of the span with id.
func parentOf(tel *telemetry, sc trace.SpanContext) trace.SpanContext {
	for _, s := range tel.exp.GetSpans() {
		if s.SpanContext.SpanID() == sc.SpanID() {
			return s.Parent
		}
	}
	return trace.SpanContext{}
}

// TestGRPCGoClientSkiffServer: a grpc-go client instrumented with
// otelgrpc calls a Skiff server with the server suite: the server span is
// in the client's trace, the child of otelgrpc's client span, and the
// handler sees the baggage.
func TestGRPCGoClientSkiffServer(t *testing.T) {
	tel := newTelemetry(t)
	bag := make(chan string, 1)
	addr := startBaggageHop(t, baggageHop{bag: bag}, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tel.tp),
			otelgrpc.WithPropagators(skiffotel.DefaultPropagator()))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reply := new(greeterpb.HelloReply)
	if err := conn.Invoke(withBaggage(t, context.Background()), greeterPath, &greeterpb.HelloRequest{Name: "hi"}, reply); err != nil {
		t.Fatal(err)
	}
	if reply.Message != "hi" {
		t.Fatalf("reply %q", reply.Message)
	}
	tel.waitSpans(t, 2)
	cs, ss := spanOfKind(t, tel, trace.SpanKindClient), spanOfKind(t, tel, trace.SpanKindServer)
	if ss.TraceID() != cs.TraceID() || parentOf(tel, ss).SpanID() != cs.SpanID() {
		t.Errorf("Skiff server span %v (parent %v) is not the child of otelgrpc's client span %v", ss, parentOf(tel, ss), cs)
	}
	if got := <-bag; got != "acme" {
		t.Errorf("handler saw baggage tenant=%q, want acme", got)
	}
}

// TestSkiffClientGRPCGoServer: a Skiff client with the client suite calls
// a grpc-go server instrumented with otelgrpc: otelgrpc's server span is in
// the Skiff client's trace, its child, and the handler sees the baggage.
func TestSkiffClientGRPCGoServer(t *testing.T) {
	tel := newTelemetry(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &grpcGreeter{bag: make(chan string, 1)}
	gs := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tel.tp),
		otelgrpc.WithPropagators(skiffotel.DefaultPropagator()))))
	gs.RegisterService(&greeterDesc, g)
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(ln) }()
	defer func() { gs.Stop(); <-done }()

	call := grpcStack().dial(t, ln.Addr().String(), client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)))
	if err := call(withBaggage(t, context.Background()), "hi"); err != nil {
		t.Fatal(err)
	}
	tel.waitSpans(t, 2)
	cs, ss := spanOfKind(t, tel, trace.SpanKindClient), spanOfKind(t, tel, trace.SpanKindServer)
	if ss.TraceID() != cs.TraceID() || parentOf(tel, ss).SpanID() != cs.SpanID() {
		t.Errorf("otelgrpc server span %v (parent %v) is not the child of Skiff's client span %v", ss, parentOf(tel, ss), cs)
	}
	if got := <-g.bag; got != "acme" {
		t.Errorf("grpc-go handler saw baggage tenant=%q, want acme", got)
	}
}

// startBaggageHop starts a server of h's Greeter on loopback.
func startBaggageHop(t *testing.T, h baggageHop, opts ...server.Option) string {
	t.Helper()
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, opts...)...)
	if err := greeterpb.RegisterGreeter(svr, h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr.Addr().String()
}
