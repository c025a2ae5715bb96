//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
)

// Netpoll serves only listeners whose file descriptor it can poll; Serve
// and CheckListener reject the others (such as a crypto/tls listener) at
// once, before accepting.
func TestNetpollRejectsUnsupportedListener(t *testing.T) {
	stdLeakCheck(t)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tln := tls.NewListener(tcp, &tls.Config{Certificates: []tls.Certificate{stdSelfSigned(t)}})
	for _, ln := range []net.Listener{tln, struct{ net.Listener }{tcp}} {
		err := engine.CheckListener(engine.Netpoll, ln)
		if !errors.Is(err, engine.ErrUnsupportedListener) {
			t.Fatalf("CheckListener(Netpoll, %T) = %v, want ErrUnsupportedListener", ln, err)
		}
		if !strings.Contains(err.Error(), "engine.Std") {
			t.Errorf("error %q does not point to engine.Std", err)
		}
		if err := engine.CheckListener(engine.Std, ln); err != nil {
			t.Errorf("CheckListener(Std, %T) = %v", ln, err)
		}
		srv, err := engine.Netpoll.NewServer(engine.ServerParams{Handler: &stdHandler{request: stdEcho}})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Serve(ln); !errors.Is(err, engine.ErrUnsupportedListener) {
			t.Errorf("Netpoll Serve(%T) = %v, want ErrUnsupportedListener", ln, err)
		}
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}
}

func TestNetpollCheckListenerAccepts(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	unix, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close()
	own, err := engine.Netpoll.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	for _, ln := range []net.Listener{tcp, unix, own} {
		if err := engine.CheckListener(engine.Netpoll, ln); err != nil {
			t.Errorf("CheckListener(Netpoll, %T) = %v", ln, err)
		}
	}
}

// TestNetpollDialRefused: dialling a port nothing listens on fails with an
// error that says refused and matches syscall.ECONNREFUSED, as on Std, and
// fails at once: Netpoll's retried attempts (dialAttempts) add no wait.
func TestNetpollDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	for _, e := range []engine.Engine{engine.Netpoll, engine.Std} {
		start := time.Now()
		c, err := e.Dial("tcp", addr, time.Second)
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%s: a refused dial took %v", e.Name(), d)
		}
		if err == nil {
			_ = c.Close()
			t.Fatalf("%s: dial to a closed port succeeded", e.Name())
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), addr) {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
}
