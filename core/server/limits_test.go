package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/diag"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
)

// WithMaxConns: beyond the bound a new connection is closed at once with
// nothing written; the open ones keep working; once one closes a new one
// is served; the refusal is logged and counted in the diagnosis probe;
// hooks are told of a connection they accepted that the bound refused.
func TestMaxConns(t *testing.T) {
	for _, eng := range testEngines() {
		t.Run(eng.Name(), func(t *testing.T) {
			t.Cleanup(func() { leaktest.VerifyNone(t) })
			logs := &syncBuffer{}
			reg := diag.NewRegistry(16)
			hook := newConnLimit(100)
			svr := start(t, echo, server.WithEngine(eng), server.WithMaxConns(2), server.WithConnHook(hook),
				server.WithDiagnosis(reg), server.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			addr := svr.Addr().String()
			dial := func() net.Conn {
				t.Helper()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			call := func(c net.Conn, what string) {
				t.Helper()
				if got, err := toyCall(c, 1, what); err != nil || got != what {
					t.Fatalf("%s: %q, %v", what, got, err)
				}
			}
			c1, c2 := dial(), dial()
			call(c1, "one")
			call(c2, "two")

			for i := 0; i < 3; i++ {
				c := dial()
				_, _ = c.Write([]byte{0, 0, 0, 12, 0xAB, 1, 0, 4, 'E', 'c', 'h', 'o', 0, 0, 0, 1})
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				b, err := io.ReadAll(c)
				if len(b) != 0 || (err != nil && !isReset(err)) {
					t.Fatalf("connection over the bound: read %x, %v; want it closed with nothing written", b, err)
				}
			}
			call(c1, "one again")
			call(c2, "two again")

			c1.Close()
			// The slot comes back once the server saw the close: retry
			// until a new connection is served.
			waitFor(t, "a slot after a close", func() bool {
				c := dial()
				got, err := toyCall(c, 1, "four")
				c.Close()
				return err == nil && got == "four"
			})
			call(c2, "two, third time")

			var dump struct {
				Max     int   `json:"max_connections"`
				Refused int64 `json:"refused_connections"`
			}
			for name, v := range reg.Snapshot() {
				if strings.HasPrefix(name, "server/") {
					b, _ := json.Marshal(v)
					_ = json.Unmarshal(b, &dump)
				}
			}
			if dump.Max != 2 || dump.Refused < 3 {
				t.Errorf("probe: max_connections %d, refused_connections %d; want 2, >= 3", dump.Max, dump.Refused)
			}
			if !strings.Contains(logs.String(), "connection limit reached") {
				t.Errorf("no warning logged; log:\n%s", logs.String())
			}
			if err := svr.Stop(); err != nil {
				t.Fatal(err)
			}
			if open, accepted, _, closed := hook.counts(); open != 0 || accepted != closed {
				t.Errorf("hook: open %d, accepted %d, closed %d; every accepted connection must be Closed once", open, accepted, closed)
			}
			if hook.closedWithoutAccept || hook.doubly {
				t.Error("hook: Closed without Accept, or twice")
			}
		})
	}
}

// The default bound is DefaultMaxConns; WithMaxConns(0) lifts it.
func TestMaxConnsDefault(t *testing.T) {
	reg := diag.NewRegistry(16)
	start(t, echo, server.WithDiagnosis(reg))
	reg0 := diag.NewRegistry(16)
	start(t, echo, server.WithDiagnosis(reg0), server.WithMaxConns(0))
	max := func(r *diag.Registry) int {
		var dump struct {
			Max int `json:"max_connections"`
		}
		for _, v := range r.Snapshot() {
			b, _ := json.Marshal(v)
			_ = json.Unmarshal(b, &dump)
		}
		return dump.Max
	}
	if got := max(reg); got != server.DefaultMaxConns {
		t.Errorf("default bound %d, want %d", got, server.DefaultMaxConns)
	}
	if got := max(reg0); got != 0 {
		t.Errorf("WithMaxConns(0): bound %d, want 0 (none)", got)
	}
}

// A Skiff client whose connection is over the bound fails fast with
// Unavailable (not sent when it sees the close while connecting, connection
// lost when it sees it while waiting for the reply), pooled or not.
func TestMaxConnsClientError(t *testing.T) {
	for _, eng := range testEngines() {
		t.Run(eng.Name(), func(t *testing.T) {
			svr := start(t, echo, server.WithEngine(eng), server.WithMaxConns(1))
			c, err := net.Dial("tcp", svr.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := toyCall(c, 1, "x"); err != nil {
				t.Fatal(err)
			}
			for _, opt := range []client.Option{client.WithLongConnection(client.PoolConfig{}), client.WithShortConnection()} {
				cli := newClient(t, svr.Addr().String(), opt, client.WithRPCTimeout(5*time.Second))
				t0 := time.Now()
				var out toycodec.Bytes
				err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("y")}, &out)
				if status.CodeOf(err) != status.Unavailable || time.Since(t0) > 2*time.Second {
					t.Errorf("call over the bound: %v (code %v) after %v; want Unavailable at once", err, status.CodeOf(err), time.Since(t0))
				}
			}
		})
	}
}

// A server with its connection bound and idle timeout set for a small
// container: at most 500 connections, idle ones closed after 2 minutes.
// A client connection over the bound is closed at once; the others are
// served as before.
func ExampleWithMaxConns() {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
		server.WithMaxConns(500), server.WithIdleTimeout(2*time.Minute))
	if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(echo)); err != nil {
		panic(err)
	}
	if err := svr.Start(); err != nil {
		panic(err)
	}
	defer svr.Stop()
	cli, err := client.New(toycodec.Service(), client.WithHostPorts(svr.Addr().String()))
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	var out toycodec.Bytes
	err = cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("within the bound")}, &out)
	fmt.Println(string(out.B), err)
	// Output: within the bound <nil>
}
