package engine_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
)

// TestStdPipelinedPastReadTimeout: a handler that, like server.serve,
// answers every request buffered in one OnRequest, and a client that keeps
// the buffer non-empty (each write ends in the middle of the next message)
// for longer than ReadTimeout: each request gets its own deadline, so the
// connection is not cut while every message arrives in time.
func TestStdPipelinedPastReadTimeout(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	errs := make(chan error, 1)
	s := startStd(t, engine.ServerParams{
		Handler: &stdHandler{request: func(_ context.Context, c engine.Conn) error {
			r := c.Reader()
			for {
				hdr, err := r.Next(4)
				if err == nil {
					_, err = r.Next(int(binary.BigEndian.Uint32(hdr)))
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return err
				}
				_ = r.Release()
				out, _ := c.Writer().Malloc(1)
				out[0] = 1
				if r.Len() == 0 {
					break
				}
			}
			return c.Writer().Flush()
		}},
		ReadTimeout: readTimeout,
		IdleTimeout: 10 * time.Second,
	})
	c := dialStd(t, s.addr)
	msg := make([]byte, 4+100)
	binary.BigEndian.PutUint32(msg, 100)
	stream := []byte{}
	for i := 0; i < 40; i++ {
		stream = append(stream, msg...)
	}
	// Each write: the rest of one message and the first half of the next.
	go func() {
		off := 0
		for off < len(stream) {
			end := min(off+104, len(stream))
			if off == 0 {
				end = 52
			}
			_, _ = c.Writer().WriteBinary(stream[off:end])
			_ = c.Writer().Flush()
			off = end
			time.Sleep(50 * time.Millisecond) // each message arrives whole within 50 ms
		}
	}()
	got := 0
	_ = c.SetReadTimeout(5 * time.Second)
	for got < 40 {
		if _, err := c.Reader().Next(1); err != nil {
			t.Fatalf("after %d replies: %v (server: %v)", got, err, <-errs)
		}
		_ = c.Reader().Release()
		got++
	}
}
