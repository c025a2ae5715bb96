package h2transport_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// FuzzServerFrames feeds arbitrary frames, after a valid preface and
// SETTINGS, to a server connection: it must neither panic nor hang, and
// must end when the input does. Seeds are in testdata/fuzz/FuzzServerFrames.
func FuzzServerFrames(f *testing.F) {
	p := h2transport.New(h2transport.WithMaxConcurrentStreams(8), h2transport.WithServerKeepalive(0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		cli, srvSide := net.Pipe()
		sc, err := p.NewServerConn(engine.NewStdConn(srvSide), stream.ServerConnParams{Handler: func(s stream.RawServerStream) {
			buf := make([]byte, 1024)
			for {
				n, err := s.Read(buf)
				if n > 0 {
					_, _ = s.Write(buf[:n])
				}
				if err != nil {
					break
				}
			}
			_ = s.Close(stream.Header{{Name: "x-end", Value: "1"}})
		}})
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- sc.Serve() }()
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, cli)
		}()
		_ = cli.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = cli.Write([]byte(http2.ClientPreface))
		_, _ = cli.Write([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0}) // empty SETTINGS
		_, _ = cli.Write(data)
		_ = cli.Close()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after the input ended")
		}
		<-drained
		// Serve does not wait for the handlers it started: wait here, so
		// that none outlives this input (the count covers a handler from
		// its dispatch, before it runs).
		waitHandlers(t, sc)
	})
}

// waitHandlers waits, at most 10 s, until no stream handler of sc (a
// server connection of this package) is running.
func waitHandlers(t *testing.T, sc any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h2transport.Handlers(sc) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d stream handlers still running 10 s after the connection ended", h2transport.Handlers(sc))
		}
		time.Sleep(time.Millisecond)
	}
}

// FuzzClientFrames feeds arbitrary frames from a "server", after its
// SETTINGS, to a client connection with one open stream: no panic, no
// hang. Seeds are in testdata/fuzz/FuzzClientFrames.
func FuzzClientFrames(f *testing.F) {
	p := h2transport.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		cliSide, srv := net.Pipe()
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, srv)
		}()
		fed := make(chan struct{})
		go func() {
			defer close(fed)
			_ = srv.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = srv.Write([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0}) // empty SETTINGS
			_, _ = srv.Write(data)
		}()
		cc, err := p.NewClientConn(engine.NewStdConn(cliSide), stream.ClientConnParams{Authority: "fuzz"})
		if err != nil {
			_ = srv.Close()
			<-fed
			<-drained
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if cs, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/fuzz"}}); err == nil {
			_ = cs.CloseSend()
			read := make(chan struct{})
			go func() {
				defer close(read)
				if _, err := cs.Header(); err == nil {
					_, _ = io.Copy(io.Discard, cs)
				}
			}()
			<-fed
			_ = srv.Close()
			<-read
		} else {
			<-fed
			_ = srv.Close()
		}
		_ = cc.Close()
		<-drained
	})
}
