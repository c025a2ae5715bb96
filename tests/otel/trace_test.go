package otel_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/status"
	skiffotel "github.com/skiffrpc/skiff/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// expect is what one span of the chain should show.
type expect struct {
	status   codes.Code
	errType  string // "" when error.type must be absent; alternatives separated by "|"
	outcome  string // "" when skiff.rpc.outcome must be absent
	grpcCode int    // rpc.grpc.status_code on gRPC
}

// TestThreeHops shows one trace across A→B→C: A (a span of the test's own,
// then a client call) calls B, whose handler calls C, over TTHeader
// (Thrift), Kitex Protobuf (TTHeader framed) and gRPC. For each outcome
// the five spans (A's root, A's client, B's server, B's client, C's
// server) share the trace id, each is the child of the one before, the
// attributes follow the RPC semantic conventions, and the statuses tell
// successes, declared exceptions and business errors from failures and
// timeouts.
func TestThreeHops(t *testing.T) {
	ok := expect{status: codes.Unset}
	declared := expect{status: codes.Unset, outcome: skiffotel.OutcomeDeclared, grpcCode: 2}
	biz := expect{status: codes.Unset, outcome: skiffotel.OutcomeBiz, grpcCode: 13}
	failed := expect{status: codes.Error, errType: "internal", grpcCode: 13}
	type spans struct{ aClient, bServer, bClient, cServer *expect }
	cases := []struct {
		name, text string
		timeout    time.Duration
		grpcToo    bool // the case exists on protobuf stacks too
		checkErr   func(error) bool
		want       spans
	}{
		{name: "success", text: "ok", grpcToo: true,
			checkErr: func(err error) bool { return err == nil },
			want:     spans{&ok, &ok, &ok, &ok}},
		{name: "declared exception", text: "declared",
			checkErr: func(err error) bool { return err != nil && strings.Contains(err.Error(), "EchoError") },
			want:     spans{&declared, &declared, &declared, &declared}},
		{name: "business error", text: "biz", grpcToo: true,
			checkErr: func(err error) bool {
				var be *status.BizError
				return errors.As(err, &be) && be.Code == 4001
			},
			want: spans{&biz, &biz, &biz, &biz}},
		{name: "failure", text: "internal", grpcToo: true,
			checkErr: func(err error) bool { return status.CodeOf(err) == status.Internal },
			want:     spans{&failed, &failed, &failed, &failed}},
		{name: "timeout", text: "sleep", timeout: 150 * time.Millisecond, grpcToo: true,
			// A's own deadline, or B's report that its call to C ran out of
			// the deadline A sent: both are DeadlineExceeded.
			checkErr: func(err error) bool { return status.CodeOf(err) == status.DeadlineExceeded },
			want:     spans{aClient: &expect{status: codes.Error, errType: "timeout|deadline_exceeded", grpcCode: 4}}},
	}
	for _, st := range []stack{thriftTTHeader(), kitexProtobuf(), grpcStack()} {
		for _, tc := range cases {
			if st.system != "thrift" && !tc.grpcToo {
				continue
			}
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				tel := newTelemetry(t)
				toB := chain(t, st, tel)
				ctx, root := tel.tp.Tracer("test").Start(context.Background(), "A")
				cctx := ctx
				if tc.timeout > 0 {
					var cancel context.CancelFunc
					cctx, cancel = context.WithTimeout(ctx, tc.timeout)
					defer cancel()
				}
				err := toB(cctx, tc.text)
				root.End()
				if !tc.checkErr(err) {
					t.Fatalf("call returned %v", err)
				}
				got := tel.waitSpans(t, 5)
				byParent := map[trace.SpanID]tracetest.SpanStub{}
				for _, s := range got {
					if s.SpanContext.TraceID() != root.SpanContext().TraceID() {
						t.Errorf("span %s %s is in trace %s, not %s", s.SpanKind, s.Name, s.SpanContext.TraceID(), root.SpanContext().TraceID())
					}
					byParent[s.Parent.SpanID()] = s
				}
				parent := root.SpanContext().SpanID()
				for i, w := range []*expect{tc.want.aClient, tc.want.bServer, tc.want.bClient, tc.want.cServer} {
					kind := trace.SpanKindClient
					if i%2 == 1 {
						kind = trace.SpanKindServer
					}
					s, found := byParent[parent]
					if !found || s.SpanKind != kind {
						t.Fatalf("span %d: no %v span with parent %s; spans: %v", i, kind, parent, names(got))
					}
					checkHopSpan(t, st, s, w)
					parent = s.SpanContext.SpanID()
				}
			})
		}
	}
}

func checkHopSpan(t *testing.T, st stack, s tracetest.SpanStub, w *expect) {
	t.Helper()
	a := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		a[kv.Key] = kv.Value
	}
	side := s.SpanKind.String() + " span " + s.Name
	if got := a["rpc.system"].AsString(); got != st.system {
		t.Errorf("%s: rpc.system %q, want %q", side, got, st.system)
	}
	svc, method, _ := strings.Cut(s.Name, "/")
	if a["rpc.service"].AsString() != svc || a["rpc.method"].AsString() != method || svc == "" || method == "" {
		t.Errorf("%s: rpc.service %q rpc.method %q", side, a["rpc.service"].AsString(), a["rpc.method"].AsString())
	}
	if a["network.peer.address"].AsString() != "127.0.0.1" || a["network.peer.port"].AsInt64() == 0 {
		t.Errorf("%s: network.peer %q:%d", side, a["network.peer.address"].AsString(), a["network.peer.port"].AsInt64())
	}
	if s.SpanKind == trace.SpanKindClient && (a["server.address"].AsString() != "127.0.0.1" || a["server.port"].AsInt64() == 0) {
		t.Errorf("%s: server %q:%d", side, a["server.address"].AsString(), a["server.port"].AsInt64())
	}
	if w == nil {
		return
	}
	if s.Status.Code != w.status {
		t.Errorf("%s: status %v (%q), want %v", side, s.Status.Code, s.Status.Description, w.status)
	}
	if got := a["error.type"].AsString(); got != w.errType && !slices.Contains(strings.Split(w.errType, "|"), got) {
		t.Errorf("%s: error.type %q, want %q", side, got, w.errType)
	}
	if got := a[skiffotel.OutcomeKey].AsString(); got != w.outcome {
		t.Errorf("%s: outcome %q, want %q", side, got, w.outcome)
	}
	if w.outcome == skiffotel.OutcomeBiz && a[skiffotel.BizStatusCodeKey].AsInt64() != 4001 {
		t.Errorf("%s: biz status code %d", side, a[skiffotel.BizStatusCodeKey].AsInt64())
	}
	code, has := a["rpc.grpc.status_code"]
	switch {
	case st.system == "grpc" && (!has || int(code.AsInt64()) != w.grpcCode):
		t.Errorf("%s: rpc.grpc.status_code %v (present %v), want %d", side, code.AsInt64(), has, w.grpcCode)
	case st.system != "grpc" && has:
		t.Errorf("%s: rpc.grpc.status_code on %s", side, st.system)
	}
}
