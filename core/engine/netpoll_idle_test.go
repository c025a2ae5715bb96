//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
)

// npEcho answers the length-prefixed frames buffered on c, as an
// OnRequest on Netpoll must: it returns once nothing is left to read.
func npEcho(_ context.Context, c engine.Conn) error {
	r, w := c.Reader(), c.Writer()
	for r.Len() > 0 {
		hdr, err := r.Next(4)
		if err != nil {
			return err
		}
		body, err := r.Next(int(binary.BigEndian.Uint32(hdr)))
		if err != nil {
			return err
		}
		out, err := w.Malloc(4 + len(body))
		if err != nil {
			return err
		}
		binary.BigEndian.PutUint32(out, uint32(len(body)))
		copy(out[4:], body)
		if err := r.Release(); err != nil {
			return err
		}
	}
	return w.Flush()
}

// rawEcho sends one frame on c and reads its echo.
func rawEcho(t *testing.T, c net.Conn, body string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4+len(body))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return string(b[4:])
}

// On Netpoll too, IdleTimeout closes a connection that has had no traffic
// for that long (Netpoll's own idle option only sets TCP keepalive, which
// a live idle peer answers), and leaves a connection that talks open.
func TestNetpollServerIdleTimeout(t *testing.T) {
	stdLeakCheck(t)
	const idleTimeout = 300 * time.Millisecond
	disconnected := make(chan struct{}, 2)
	addr := startEngine(t, engine.Netpoll, engine.ServerParams{
		Handler: &stdHandler{
			request:    npEcho,
			disconnect: func(context.Context, engine.Conn) { disconnected <- struct{}{} },
		},
		IdleTimeout: idleTimeout,
	})
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	idle, busy := dial(), dial()
	if got := rawEcho(t, idle, "once"); got != "once" {
		t.Fatalf("echo %q", got)
	}
	t0 := time.Now()
	idleClosed := make(chan time.Duration, 1)
	go func() {
		_ = idle.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := idle.Read(make([]byte, 1))
		if errors.Is(err, io.EOF) || err != nil && !errors.Is(err, net.ErrClosed) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				idleClosed <- -1
				return
			}
			idleClosed <- time.Since(t0)
		}
	}()
	// busy talks every 50 ms for three idle timeouts.
	for range 18 {
		if got := rawEcho(t, busy, "x"); got != "x" {
			t.Fatalf("busy echo %q", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case d := <-idleClosed:
		if d < 0 {
			t.Fatal("the idle connection was not closed within 10 s")
		}
		if d < idleTimeout-50*time.Millisecond {
			t.Errorf("the idle connection was closed after %v, before the idle timeout %v", d, idleTimeout)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the idle connection was not closed")
	}
	if got := rawEcho(t, busy, "still here"); got != "still here" {
		t.Errorf("busy echo %q", got)
	}
	<-disconnected
}

// A connection whose OnRequest runs longer than the idle timeout (a slow
// call, a stream) is in use, not idle: it stays open and its reply goes
// out. The idle check looks at the running request, not only at when
// requests began and ended.
func TestNetpollServerIdleTimeoutBusy(t *testing.T) {
	stdLeakCheck(t)
	const idleTimeout = 100 * time.Millisecond
	slow := func(ctx context.Context, c engine.Conn) error {
		// Read the request first: nothing stays buffered while the
		// call runs for four idle timeouts.
		r := c.Reader()
		hdr, err := r.Next(4)
		if err != nil {
			return err
		}
		b, err := r.Next(int(binary.BigEndian.Uint32(hdr)))
		if err != nil {
			return err
		}
		body := append([]byte(nil), b...)
		if err := r.Release(); err != nil {
			return err
		}
		time.Sleep(4 * idleTimeout)
		w := c.Writer()
		if _, err := w.WriteBinary(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)); err != nil {
			return err
		}
		return w.Flush()
	}
	addr := startEngine(t, engine.Netpoll, engine.ServerParams{Handler: &stdHandler{request: slow}, IdleTimeout: idleTimeout})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := rawEcho(t, c, "slow"); got != "slow" {
		t.Fatalf("echo %q", got)
	}
}
