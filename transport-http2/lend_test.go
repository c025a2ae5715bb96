package h2transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/stream"
)

// TestLend checks stream.Lender on both stream kinds: the lent bytes are
// the data received, Consume(n) reads n of them and leaves the rest to
// Read, a second Lend before Consume is refused, and Lend ends with
// io.EOF.
func TestLend(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1024) // 16 KiB
	srvErr := make(chan error, 1)
	srv := startServer(t, func(s stream.RawServerStream) {
		srvErr <- func() error {
			l, ok := s.(stream.Lender)
			if !ok {
				return errors.New("server stream is not a stream.Lender")
			}
			var got []byte
			for {
				b, err := l.Lend()
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				if _, err := l.Lend(); err == nil {
					return errors.New("a second Lend before Consume succeeded")
				}
				// Consume half of each loan; Read takes the other half.
				half := (len(b) + 1) / 2
				got = append(got, b[:half]...)
				l.Consume(half)
				rest := make([]byte, len(b)-half)
				if _, err := io.ReadFull(s, rest); err != nil {
					return err
				}
				got = append(got, rest...)
			}
			if !bytes.Equal(got, body) {
				return errors.New("server: lent bytes differ from the request body")
			}
			if _, err := s.Write(got); err != nil {
				return err
			}
			return s.Close(nil)
		}()
	}, serverConfig{})
	cc := dial(t, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/lend"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := <-srvErr; err != nil {
		t.Fatal(err)
	}
	l, ok := cs.(stream.Lender)
	if !ok {
		t.Fatal("client stream is not a stream.Lender")
	}
	var got []byte
	for {
		b, err := l.Lend()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
		l.Consume(len(b))
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("client: lent %d bytes, want the %d sent", len(got), len(body))
	}
}

// TestLentBytesSurviveReset checks that bytes lent by a stream stay
// intact when the stream is reset while they are lent: its buffer is not
// handed to another stream.
func TestLentBytesSurviveReset(t *testing.T) {
	lent := make(chan []byte, 1)
	resetDone := make(chan struct{})
	srvErr := make(chan error, 1)
	srv := startServer(t, func(s stream.RawServerStream) {
		if s.Header().Get(":path") != "/hold" {
			echoHandler(s)
			return
		}
		l := s.(stream.Lender)
		b, err := l.Lend()
		if err != nil {
			srvErr <- err
			return
		}
		lent <- b
		<-resetDone
		l.Consume(len(b)) // after the reset: does nothing harmful
		_, err = l.Lend()
		srvErr <- err
	}, serverConfig{})
	cc := dial(t, srv.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/hold"}})
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte{'h'}, 4096)
	if _, err := cs.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := cs.Flush(); err != nil {
		t.Fatal(err)
	}
	b := <-lent
	snapshot := append([]byte(nil), b...)
	cs.Reset(stream.CodeCancel)
	// Other streams now receive data into pooled buffers.
	for i := 0; i < 20; i++ {
		out, _, _, err := call(ctx, cc, "/echo", bytes.Repeat([]byte{byte('a' + i)}, 4096))
		if err != nil || len(out) != 4096 {
			t.Fatalf("echo %d: %d bytes, %v", i, len(out), err)
		}
	}
	if !bytes.Equal(b, snapshot) {
		t.Fatal("lent bytes changed after the stream was reset")
	}
	close(resetDone)
	if err := <-srvErr; err == nil || err == io.EOF {
		t.Fatalf("Lend after the reset: %v, want the reset's error", err)
	}
}
