package h2transport_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// exampleHandler serves HTTP/2 on an engine server: each connection is
// handed to the protocol, whose Serve runs until the connection ends.
type exampleHandler struct{ p *h2transport.Protocol }

func (h exampleHandler) OnConnect(ctx context.Context, c engine.Conn) context.Context { return ctx }
func (h exampleHandler) OnDisconnect(ctx context.Context, c engine.Conn)              {}
func (h exampleHandler) OnRequest(ctx context.Context, c engine.Conn) error {
	sc, err := h.p.NewServerConn(c, stream.ServerConnParams{Handler: func(s stream.RawServerStream) {
		req, _ := io.ReadAll(s)
		_, _ = s.Write([]byte("hello, " + string(req)))
		_ = s.Close(stream.Header{{Name: "x-result", Value: "ok"}})
	}})
	if err != nil {
		return err
	}
	_ = sc.Serve()
	return net.ErrClosed
}

// Example serves HTTP/2 (h2c) on loopback and opens one stream to it.
func Example() {
	p := h2transport.New()
	srv, _ := engine.Std.NewServer(engine.ServerParams{Handler: exampleHandler{p}})
	ln, _ := engine.Std.Listen("tcp", "127.0.0.1:0")
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	conn, _ := engine.Std.Dial("tcp", ln.Addr().String(), time.Second)
	cc, err := p.NewClientConn(conn, stream.ClientConnParams{Authority: ln.Addr().String()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cc.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, _ := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/greet"}})
	_, _ = s.Write([]byte("skiff"))
	_ = s.CloseSend()
	h, _ := s.Header()
	body, _ := io.ReadAll(s)
	fmt.Println(h.Get(":status"), string(body), s.Trailer().Get("x-result"))
	// Output: 200 hello, skiff ok
}

// A protocol for a server of its own, with a stream memory budget of
// 64 MiB and 200 streams per connection; give it to the server with
// server.WithStreamProtocols(p). MemoryStats tells how much of the budget
// its open streams hold and how many streams it refused.
func ExampleWithStreamMemory() {
	p := h2transport.New(h2transport.WithStreamMemory(64<<20), h2transport.WithMaxConcurrentStreams(200))
	st := p.MemoryStats()
	fmt.Printf("budget %d MiB, in use %d, refused %d\n", st.Budget>>20, st.InUse, st.Refused)
	// Output: budget 64 MiB, in use 0, refused 0
}
