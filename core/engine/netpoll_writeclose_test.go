//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/engine"
)

// discardServer starts a plain TCP server that reads and drops what it
// gets, and returns a function that dials it on Netpoll.
func discardServer(t *testing.T) func() engine.Conn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); _ = c.Close() }()
		}
	}()
	return func() engine.Conn {
		c, err := engine.Netpoll.Dial("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// TestNetpollWriteAfterClose: Netpoll releases a dialed connection's write
// buffer when Close is called; a Malloc or WriteBinary after that, or
// racing with it on another goroutine (a multiplexed client's writer
// while its reader closes the connection), dereferenced a released buffer
// node: a nil pointer panic, seen in tests/limiter. Every write must end
// in an error instead, and a write in progress must finish before the
// buffer goes.
func TestNetpollWriteAfterClose(t *testing.T) {
	dial := discardServer(t)

	c := dial()
	_ = c.Close()
	if _, err := c.Writer().Malloc(64); err == nil {
		t.Error("Malloc after Close: no error")
	}
	if _, err := c.Writer().WriteBinary(make([]byte, 8<<10)); err == nil {
		t.Error("WriteBinary after Close: no error")
	}
	if err := c.Writer().Flush(); err == nil {
		t.Error("Flush after Close: no error")
	}

	for i := 0; i < 200; i++ {
		c := dial()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				w := c.Writer()
				b, err := w.Malloc(256)
				if err != nil {
					return
				}
				for j := range b {
					b[j] = byte(j)
				}
				if _, err := w.WriteBinary(make([]byte, 4<<10)); err != nil {
					return
				}
				if err := w.Flush(); err != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(i%7) * 50 * time.Microsecond)
		_ = c.Close()
		<-done
	}
}

// TestNetpollCloseWaitsForWrite: Close holds off while another goroutine
// is between Malloc and Flush, and returns once the write ends; a write
// given up with conn.AbortWrite, or one that wrote nothing, holds nothing
// off.
func TestNetpollCloseWaitsForWrite(t *testing.T) {
	dial := discardServer(t)

	c := dial()
	b, err := c.Writer().Malloc(16)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { _ = c.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a write was in progress")
	case <-time.After(20 * time.Millisecond):
	}
	copy(b, "still mine")
	_ = c.Writer().Flush()
	select {
	case <-closed:
	case <-time.After(100 * time.Millisecond): // not the 200 ms bound: the write's end
		t.Fatal("Close did not return when the write ended")
	}

	for name, start := range map[string]func(conn.Writer){
		"aborted": func(w conn.Writer) { _, _ = w.Malloc(16); conn.AbortWrite(w) },
		"empty":   func(w conn.Writer) { _, _ = w.Malloc(0); _, _ = w.WriteBinary(nil) },
	} {
		c := dial()
		start(c.Writer())
		t0 := time.Now()
		_ = c.Close()
		if d := time.Since(t0); d > 100*time.Millisecond { // a held-off Close waits 200 ms
			t.Errorf("%s write: Close took %v", name, d)
		}
	}
}
