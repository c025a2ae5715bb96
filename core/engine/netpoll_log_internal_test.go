//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine

import (
	"bytes"
	"log"
	"log/slog"
	"strings"
	"testing"
)

// TestNetpollLogWriter: lines written the way Netpoll's log.Logger writes
// them become slog records without the timestamp and prefix.
func TestNetpollLogWriter(t *testing.T) {
	var buf bytes.Buffer
	w := &netpollLogWriter{l: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))}
	lg := log.New(w, "", log.LstdFlags) // as Netpoll makes its logger
	lg.Printf("NETPOLL: accept conn failed: %v", "too many open files")
	lg.Println("NETPOLL: re-accept conn success:", "127.0.0.1:4000")
	if _, err := w.Write([]byte("no stamp\nsecond line\n")); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`level=WARN msg="accept conn failed: too many open files" component=netpoll`,
		`level=WARN msg="re-accept conn success: 127.0.0.1:4000" component=netpoll`,
		`level=WARN msg="no stamp" component=netpoll`,
		`level=WARN msg="second line" component=netpoll`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
