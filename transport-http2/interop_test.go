package h2transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// h2cTransport is golang.org/x/net/http2's client speaking h2c.
func h2cTransport() *http2.Transport {
	return &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

// TestXNetClient runs x/net/http2's client against a Skiff server.
func TestXNetClient(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Default, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			srv := startServer(t, echoHandler, serverConfig{eng: eng})
			tr := h2cTransport()
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			var wg sync.WaitGroup
			errs := make(chan error, 50)
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := bytes.Repeat([]byte{byte(i)}, 1000*i+1)
					resp, err := hc.Post("http://"+srv.addr+"/x/y", "application/test", bytes.NewReader(body))
					if err != nil {
						errs <- err
						return
					}
					defer resp.Body.Close()
					got, err := io.ReadAll(resp.Body)
					if err != nil {
						errs <- err
						return
					}
					if !bytes.Equal(got, body) || resp.StatusCode != 200 || resp.ProtoMajor != 2 {
						errs <- io.ErrUnexpectedEOF
						return
					}
					if resp.Trailer.Get("X-Status") != "ok" || resp.Trailer.Get("X-Path") != "/x/y" {
						t.Errorf("trailer %v", resp.Trailer)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}

// h2cServer serves x/net/http2's server over h2c on loopback.
func h2cServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &http2.Server{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.ServeConn(c, &http2.ServeConnOpts{Handler: h})
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func xnetEcho(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Trailer", "X-Status")
	w.Header().Set("Content-Type", "application/test")
	w.WriteHeader(200)
	buf := make([]byte, 16<<10)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			_, _ = w.Write(buf[:n])
			w.(http.Flusher).Flush()
		}
		if err != nil {
			break
		}
	}
	w.Header().Set("X-Status", "ok "+r.URL.Path)
}

// TestXNetServer runs a Skiff client against x/net/http2's server.
func TestXNetServer(t *testing.T) {
	addr := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/only-trailers"):
			w.Header().Set("X-Only", "yes")
			w.WriteHeader(204)
		default:
			xnetEcho(w, r)
		}
	}))
	cc := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.Repeat([]byte{byte(i)}, 3000*i)
			out, h, tr, err := call(ctx, cc, "/echo", body)
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(out, body) {
				t.Errorf("got %d bytes, want %d", len(out), len(body))
			}
			if h.Get(":status") != "200" || h.Get("content-type") != "application/test" {
				t.Errorf("header %v", h)
			}
			if tr.Get("x-status") != "ok /echo" {
				t.Errorf("trailer %v", tr)
			}
		}()
	}
	wg.Wait()
	// A response with END_STREAM on its header block.
	_, h, tr, err := call(ctx, cc, "/only-trailers", nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get(":status") != "204" || tr.Get("x-only") != "yes" {
		t.Fatalf("header %v trailer %v", h, tr)
	}
	var _ = h2transport.New
	var _ stream.Header
}
