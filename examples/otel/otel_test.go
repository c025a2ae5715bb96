package otelexample_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/leaktest"
	otelexample "github.com/skiffrpc/skiff/examples/otel"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// TestRunStdout: two calls print two traces of four spans each (the echo
// client span, the echo server span, its Greeter client span, the Greeter
// server span), a handler log line per call with its trace id, and one
// metrics export.
func TestRunStdout(t *testing.T) {
	var buf bytes.Buffer
	if err := otelexample.RunStdout(&buf, 2); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&buf)
	traces := map[string]int{}
	var logs, metrics int
	for dec.More() {
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("output is not a stream of JSON values: %v", err)
		}
		switch {
		case v["SpanContext"] != nil:
			sc := v["SpanContext"].(map[string]any)
			traces[sc["TraceID"].(string)]++
		case v["msg"] == "echo":
			if v["trace_id"] == nil {
				t.Errorf("log line without trace_id: %v", v)
			}
			logs++
		case v["ScopeMetrics"] != nil:
			metrics++
		}
	}
	if len(traces) != 2 {
		t.Errorf("%d traces, want 2: %v", len(traces), traces)
	}
	for id, n := range traces {
		if n != 4 {
			t.Errorf("trace %s has %d spans, want 4 (two calls, client and server each)", id, n)
		}
	}
	if logs != 2 || metrics != 1 {
		t.Errorf("%d log lines and %d metric exports, want 2 and 1", logs, metrics)
	}
}

// TestRunPrometheus: the scrape shows the duration series of both
// services, each counting the calls.
func TestRunPrometheus(t *testing.T) {
	var buf bytes.Buffer
	if err := otelexample.RunPrometheus(&buf, 4); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`rpc_server_duration_milliseconds_count{`, `rpc_method="Echo"`, `rpc_method="SayHello"`, `rpc_system="grpc"`, `rpc_system="thrift"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %s:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "rpc_client_duration_milliseconds_count{") && !strings.HasSuffix(line, " 4") {
			t.Errorf("client call count: %s", line)
		}
	}
}

// The stdout example: spans, log lines and metrics as JSON.
func ExampleRunStdout() {
	if err := otelexample.RunStdout(os.Stdout, 1); err != nil {
		panic(err)
	}
}
