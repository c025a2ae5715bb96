package h2transport_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stream"
)

// benchEcho answers one request with its body.
func benchEcho(s stream.RawServerStream) {
	buf := make([]byte, 4096)
	n := 0
	for {
		m, err := s.Read(buf[n:])
		n += m
		if err != nil {
			break
		}
	}
	_, _ = s.Write(buf[:n])
	_ = s.Close(stream.Header{{Name: "grpc-status", Value: "0"}})
}

// benchCall opens a stream, sends 1 KB, reads 1 KB and the trailer.
func benchCall(b *testing.B, cc stream.ClientConn, body, buf []byte) {
	cs, err := cc.NewStream(context.Background(), stream.Header{{Name: ":path", Value: "/bench/Echo"}, {Name: "content-type", Value: "application/grpc"}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cs.Write(body); err != nil {
		b.Fatal(err)
	}
	if err := cs.CloseSend(); err != nil {
		b.Fatal(err)
	}
	if _, err := cs.Header(); err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		m, err := cs.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if n != len(body) || cs.Trailer().Get("grpc-status") != "0" {
		b.Fatalf("got %d bytes, trailer %v", n, cs.Trailer())
	}
}

// BenchmarkStream1KB: stream open + 1 KB each way + close, one at a time.
func BenchmarkStream1KB(b *testing.B) {
	for _, eng := range []engine.Engine{engine.Default, engine.Std} {
		b.Run(eng.Name(), func(b *testing.B) {
			srv := startServer(b, benchEcho, serverConfig{eng: eng})
			cc := dialWith(b, eng, srv.addr)
			body := bytes.Repeat([]byte("x"), 1024)
			buf := make([]byte, 4096)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				benchCall(b, cc, body, buf)
			}
		})
	}
}

// BenchmarkStream1KBParallel: the same with concurrent streams sharing one
// connection (GOMAXPROCS × -cpu... goroutines; use -cpu or SetParallelism).
func BenchmarkStream1KBParallel(b *testing.B) {
	for _, eng := range []engine.Engine{engine.Default, engine.Std} {
		b.Run(eng.Name(), func(b *testing.B) {
			srv := startServer(b, benchEcho, serverConfig{eng: eng})
			cc := dialWith(b, eng, srv.addr)
			body := bytes.Repeat([]byte("x"), 1024)
			b.ReportAllocs()
			b.SetParallelism(50)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 4096)
				for pb.Next() {
					benchCall(b, cc, body, buf)
				}
			})
		})
	}
}

// BenchmarkXNetReference is the same workload with golang.org/x/net/http2's
// own client and server (via net/http), for comparison.
func BenchmarkXNetReference(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http2.Server{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "Grpc-Status")
		_, _ = w.Write(body)
		w.Header().Set("Grpc-Status", "0")
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); srv.ServeConn(c, &http2.ServeConnOpts{Handler: h}) }()
		}
	}()
	defer func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	tr := h2cTransport()
	defer tr.CloseIdleConnections()
	url := "http://" + ln.Addr().String() + "/bench/Echo"
	body := bytes.Repeat([]byte("x"), 1024)
	one := func() {
		resp, err := tr.RoundTrip(mustRequest(url, body))
		if err != nil {
			b.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if len(got) != len(body) || resp.Trailer.Get("Grpc-Status") != "0" {
			b.Fatalf("got %d bytes, trailer %v", len(got), resp.Trailer)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			one()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(50)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				one()
			}
		})
	})
}

func mustRequest(url string, body []byte) *http.Request {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	return req
}

// benchEchoLarge answers one request of up to 64 KiB with its body.
func benchEchoLarge(s stream.RawServerStream) {
	buf := make([]byte, 64<<10+1)
	n := 0
	for n < len(buf) {
		m, err := s.Read(buf[n:])
		n += m
		if err != nil {
			break
		}
	}
	_, _ = s.Write(buf[:n])
	_ = s.Close(stream.Header{{Name: "grpc-status", Value: "0"}})
}

// BenchmarkStreamLargeParallel: 16 KiB and 64 KiB each way on 50
// concurrent streams of one connection (Netpoll): the path of large
// messages (windows that grow with the bandwidth-delay product, large
// writes queued in segments).
func BenchmarkStreamLargeParallel(b *testing.B) {
	for _, size := range []int{16 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			srv := startServer(b, benchEchoLarge, serverConfig{})
			cc := dial(b, srv.addr)
			body := bytes.Repeat([]byte("x"), size)
			b.SetBytes(int64(2 * size))
			b.ReportAllocs()
			b.SetParallelism(50)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, size+1)
				for pb.Next() {
					benchCall(b, cc, body, buf)
				}
			})
		})
	}
}
