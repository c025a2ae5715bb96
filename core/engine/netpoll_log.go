//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/cloudwego/netpoll"
)

// SetNetpollLogger sends Netpoll's own log lines (accept failures, close
// errors: Netpoll writes them to stderr by default) to l, at level Warn
// with the attribute component=netpoll, instead of stderr. Netpoll has one
// logger per process: call this once, before any server or client uses the
// Netpoll engine (Netpoll reads its logger without synchronisation). A nil
// l means slog.Default().
func SetNetpollLogger(l *slog.Logger) {
	netpoll.SetLoggerOutput(&netpollLogWriter{l: l})
}

// netpollLogWriter turns the lines of Netpoll's log.Logger into slog
// records.
type netpollLogWriter struct{ l *slog.Logger }

func (w *netpollLogWriter) Write(p []byte) (int, error) {
	l := w.l
	if l == nil {
		l = slog.Default()
	}
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		l.Log(context.Background(), slog.LevelWarn, netpollMessage(line), "component", "netpoll")
	}
	return len(p), nil
}

// netpollMessage strips the date and time log.LstdFlags writes
// ("2006/01/02 15:04:05 ") and Netpoll's "NETPOLL: " prefix.
func netpollMessage(line []byte) string {
	const stamp = len("2006/01/02 15:04:05 ")
	if len(line) >= stamp && line[4] == '/' && line[7] == '/' && line[10] == ' ' && line[13] == ':' && line[16] == ':' && line[19] == ' ' {
		line = line[stamp:]
	}
	line = bytes.TrimPrefix(line, []byte("NETPOLL: "))
	return string(line)
}
