package h2transport_test

import (
	"io"
	"net"
	"sync"
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
		var handlers sync.WaitGroup
		sc, err := p.NewServerConn(engine.NewStdConn(srvSide), stream.ServerConnParams{Handler: func(s stream.RawServerStream) {
			handlers.Add(1)
			defer handlers.Done()
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
		handlers.Wait()
	})
}
