package skiffotel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/status"
	skiffotel "github.com/skiffrpc/skiff/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// attrs returns a span's attributes by key.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// waitSpans waits until the recorder holds n ended spans and returns them
// by kind.
func waitSpans(t *testing.T, tel *telemetry, n int) (clientSpan, serverSpan sdktrace.ReadOnlySpan) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ended := tel.spans.Ended()
		if len(ended) >= n {
			for _, s := range ended {
				switch s.SpanKind() {
				case trace.SpanKindClient:
					clientSpan = s
				case trace.SpanKindServer:
					serverSpan = s
				}
			}
			return clientSpan, serverSpan
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spans ended, want %d", len(ended), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// want is what one side's span should show.
type want struct {
	status  codes.Code
	errType string // "" when error.type must be absent
	outcome string // "" when skiff.rpc.outcome must be absent
}

func checkSpan(t *testing.T, side string, s sdktrace.ReadOnlySpan, w want) {
	t.Helper()
	if s == nil {
		t.Fatalf("%s: no span", side)
	}
	if s.Name() != "Svc/Echo" {
		t.Errorf("%s span name %q, want Svc/Echo", side, s.Name())
	}
	a := attrs(s)
	for k, v := range map[attribute.Key]string{"rpc.system": codecName, "rpc.service": "Svc", "rpc.method": "Echo", "network.peer.address": "127.0.0.1"} {
		if got := a[k].AsString(); got != v {
			t.Errorf("%s span %s = %q, want %q", side, k, got, v)
		}
	}
	if a["network.peer.port"].AsInt64() == 0 {
		t.Errorf("%s span has no network.peer.port", side)
	}
	if s.Status().Code != w.status {
		t.Errorf("%s span status %v (%q), want %v", side, s.Status().Code, s.Status().Description, w.status)
	}
	if got := a["error.type"].AsString(); got != w.errType {
		t.Errorf("%s span error.type %q, want %q", side, got, w.errType)
	}
	if got := a[skiffotel.OutcomeKey].AsString(); got != w.outcome {
		t.Errorf("%s span %s %q, want %q", side, skiffotel.OutcomeKey, got, w.outcome)
	}
}

// TestSpans calls one server per outcome and checks both spans: names,
// kinds, the semantic-convention attributes and the status.
func TestSpans(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		timeout    time.Duration
		clientErr  func(error) bool
		client     want
		server     want
	}{
		{name: "success", text: "ok",
			client: want{status: codes.Unset}, server: want{status: codes.Unset}},
		{name: "declared exception", text: "declared",
			client: want{status: codes.Unset, outcome: skiffotel.OutcomeDeclared},
			server: want{status: codes.Unset, outcome: skiffotel.OutcomeDeclared}},
		{name: "caller's mistake", text: "notfound",
			// The test codec carries no status code: the client sees an
			// Internal remote error.
			clientErr: func(err error) bool { return status.CodeOf(err) != status.OK },
			client:    want{status: codes.Error, errType: "internal"},
			server:    want{status: codes.Unset, errType: "not_found"}}, // not the server's error
		{name: "server failure", text: "internal",
			clientErr: func(err error) bool { return status.CodeOf(err) == status.Internal },
			client:    want{status: codes.Error, errType: "internal"},
			server:    want{status: codes.Error, errType: "internal"}},
		{name: "panic", text: "panic",
			clientErr: func(err error) bool { return status.CodeOf(err) == status.Internal },
			client:    want{status: codes.Error, errType: "internal"},
			server:    want{status: codes.Error, errType: "internal"}},
		{name: "timeout", text: "sleep", timeout: 50 * time.Millisecond,
			clientErr: func(err error) bool { return errors.Is(err, status.ErrTimeout) },
			client:    want{status: codes.Error, errType: "timeout"},
			server:    want{status: codes.Unset}}, // Framed sends no deadline: the handler finishes
	} {
		t.Run(tc.name, func(t *testing.T) {
			tel := newTelemetry(t)
			addr := startServer(t, behave, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)))
			cli := newClient(t, addr, client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)))
			var opts []client.CallOption
			if tc.timeout > 0 {
				opts = append(opts, client.WithCallTimeout(tc.timeout))
			}
			out, err := call(context.Background(), cli, tc.text, opts...)
			switch {
			case tc.clientErr == nil && err != nil:
				t.Fatalf("call: %v", err)
			case tc.clientErr != nil && !tc.clientErr(err):
				t.Fatalf("call: unexpected error %v", err)
			}
			if tc.text == "declared" && out.Exc == "" {
				t.Fatal("the declared exception did not reach the result")
			}
			cs, ss := waitSpans(t, tel, 2)
			checkSpan(t, "client", cs, tc.client)
			checkSpan(t, "server", ss, tc.server)
			if cs.SpanKind() != trace.SpanKindClient || ss.SpanKind() != trace.SpanKindServer {
				t.Errorf("span kinds %v, %v", cs.SpanKind(), ss.SpanKind())
			}
			ca := attrs(cs)
			if ca["server.address"].AsString() != "127.0.0.1" || ca["server.port"].AsInt64() == 0 {
				t.Errorf("client span server.address %q server.port %d", ca["server.address"].AsString(), ca["server.port"].AsInt64())
			}
			if !cs.EndTime().After(cs.StartTime()) || !ss.EndTime().After(ss.StartTime()) {
				t.Error("a span does not end after it starts")
			}
		})
	}
}

// TestBusinessError: the server span records a business error apart from
// failures (its client side crosses the wire only on protocols with
// headers: see tests/otel).
func TestBusinessError(t *testing.T) {
	tel := newTelemetry(t)
	addr := startServer(t, behave, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)))
	cli := newClient(t, addr)
	_, _ = call(context.Background(), cli, "biz")
	_, ss := waitSpans(t, tel, 1)
	checkSpan(t, "server", ss, want{status: codes.Unset, outcome: skiffotel.OutcomeBiz})
	if got := attrs(ss)[skiffotel.BizStatusCodeKey].AsInt64(); got != 4001 {
		t.Errorf("biz status code %d, want 4001", got)
	}
}

// histogram returns the data points of a histogram metric.
func histogram[N int64 | float64](t *testing.T, m metricdata.Metrics) []metricdata.HistogramDataPoint[N] {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[N])
	if !ok {
		t.Fatalf("%s is a %T, not a histogram", m.Name, m.Data)
	}
	return h.DataPoints
}

// TestMetrics: after N calls the duration histograms count N on each side,
// split by outcome, and the request and response sizes agree between
// client and server.
func TestMetrics(t *testing.T) {
	tel := newTelemetry(t)
	addr := startServer(t, behave, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)))
	cli := newClient(t, addr, client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)))
	const n = 7
	for i := 0; i < n; i++ {
		if _, err := call(context.Background(), cli, "ok"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := call(context.Background(), cli, "internal"); err == nil {
		t.Fatal("no error")
	}
	waitSpans(t, tel, 2*(n+1))
	ms := tel.metrics(t)
	for _, side := range []string{"client", "server"} {
		name := "rpc." + side + ".duration"
		m, ok := ms[name]
		if !ok {
			t.Fatalf("no %s metric; have %v", name, keys(ms))
		}
		if m.Unit != "ms" {
			t.Errorf("%s unit %q", name, m.Unit)
		}
		var ok7, failed uint64
		for _, dp := range histogram[float64](t, m) {
			if v, _ := dp.Attributes.Value("rpc.method"); v.AsString() != "Echo" {
				t.Errorf("%s rpc.method %q", name, v.AsString())
			}
			if et, has := dp.Attributes.Value("error.type"); has {
				if et.AsString() != "internal" {
					t.Errorf("%s error.type %q", name, et.AsString())
				}
				failed += dp.Count
			} else {
				ok7 += dp.Count
			}
		}
		if ok7 != n || failed != 1 {
			t.Errorf("%s counts %d successes and %d failures, want %d and 1", name, ok7, failed, n)
		}
	}
	sum := func(name string) int64 {
		var s int64
		for _, dp := range histogram[int64](t, ms[name]) {
			s += dp.Sum
		}
		return s
	}
	for _, dir := range []string{"request", "response"} {
		c, s := sum("rpc.client."+dir+".size"), sum("rpc.server."+dir+".size")
		if c <= 0 || c != s {
			t.Errorf("%s bytes: client %d, server %d; want equal and positive", dir, c, s)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestLevelDisabled: with the stats level "disabled" the suites record
// nothing, and calls still work.
func TestLevelDisabled(t *testing.T) {
	tel := newTelemetry(t)
	addr := startServer(t, behave, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)),
		server.WithStatsLevel(stats.LevelDisabled))
	cli := newClient(t, addr, client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)),
		client.WithStatsLevel(stats.LevelDisabled))
	for i := 0; i < 3; i++ {
		if _, err := call(context.Background(), cli, "ok"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(tel.spans.Ended()) + len(tel.spans.Started()); n != 0 {
		t.Errorf("%d spans recorded at level disabled", n)
	}
	if ms := tel.metrics(t); len(ms) != 0 {
		t.Errorf("metrics recorded at level disabled: %v", keys(ms))
	}
}

// TestClientParent: a client call made with a context that carries a span
// is that span's child, and its trace context is in the request metadata
// that middleware sees.
func TestClientParent(t *testing.T) {
	tel := newTelemetry(t)
	addr := startServer(t, behave)
	var traceparent string
	cli := newClient(t, addr, client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)),
		client.WithMiddleware(func(next endpointFunc) endpointFunc {
			return func(ctx context.Context, req, resp any) error {
				traceparent, _ = callinfoFrom(ctx).Request.Get("traceparent")
				return next(ctx, req, resp)
			}
		}))
	ctx, parent := tel.tp.Tracer("test").Start(context.Background(), "parent")
	if _, err := call(ctx, cli, "ok"); err != nil {
		t.Fatal(err)
	}
	parent.End()
	cs, _ := waitSpans(t, tel, 2)
	if cs.Parent().SpanID() != parent.SpanContext().SpanID() || cs.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("client span parent %v, want %v", cs.Parent(), parent.SpanContext())
	}
	want := "00-" + cs.SpanContext().TraceID().String() + "-" + cs.SpanContext().SpanID().String() + "-01"
	if traceparent != want {
		t.Errorf("traceparent %q, want %q", traceparent, want)
	}
}

// TestExemplars: both sides record their metrics in the span's context,
// so a meter provider keeping exemplars (the SDK's default filter keeps
// them for sampled spans) links each duration to its span.
func TestExemplars(t *testing.T) {
	tel := newTelemetry(t)
	addr := startServer(t, behave, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)))
	cli := newClient(t, addr, client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)))
	if _, err := call(context.Background(), cli, "ok"); err != nil {
		t.Fatal(err)
	}
	clientSpan, serverSpan := waitSpans(t, tel, 2)
	m := tel.metrics(t)
	for name, span := range map[string]sdktrace.ReadOnlySpan{"rpc.client.duration": clientSpan, "rpc.server.duration": serverSpan} {
		h, ok := m[name].Data.(metricdata.Histogram[float64])
		if !ok || len(h.DataPoints) != 1 {
			t.Fatalf("%s: %#v", name, m[name].Data)
		}
		ex := h.DataPoints[0].Exemplars
		if len(ex) != 1 {
			t.Fatalf("%s: %d exemplars, want 1", name, len(ex))
		}
		sc := span.SpanContext()
		if trace.TraceID(ex[0].TraceID) != sc.TraceID() || trace.SpanID(ex[0].SpanID) != sc.SpanID() {
			t.Errorf("%s exemplar of trace %x span %x, want %s %s", name, ex[0].TraceID, ex[0].SpanID, sc.TraceID(), sc.SpanID())
		}
	}
}
