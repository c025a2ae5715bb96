package skiffotel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	skiffotel "github.com/skiffrpc/skiff/otel"
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogHandlerInHandler: a handler that logs with its context gets the
// server span's trace and span ids in the record.
func TestLogHandlerInHandler(t *testing.T) {
	tel := newTelemetry(t)
	var buf lockedBuffer
	logger := slog.New(skiffotel.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("svc", "Svc")
	addr := startServer(t, func(ctx context.Context, in, out *msg) error {
		logger.InfoContext(ctx, "handling", "text", in.Text)
		out.Text = in.Text
		return nil
	}, server.WithSuite(skiffotel.NewServerSuite(tel.opts()...)))
	cli := newClient(t, addr, client.WithSuite(skiffotel.NewClientSuite(tel.opts()...)))
	if _, err := call(context.Background(), cli, "hi"); err != nil {
		t.Fatal(err)
	}
	_, ss := waitSpans(t, tel, 2)
	var rec map[string]any
	if err := json.Unmarshal(buf.b.Bytes(), &rec); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if rec[skiffotel.TraceIDKey] != ss.SpanContext().TraceID().String() || rec[skiffotel.SpanIDKey] != ss.SpanContext().SpanID().String() {
		t.Errorf("log record %v; server span %v", rec, ss.SpanContext())
	}
	if rec["svc"] != "Svc" || rec["text"] != "hi" {
		t.Errorf("log record lost its attributes: %v", rec)
	}
}
