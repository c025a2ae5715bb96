package ttheader_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/core/transporttest"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
)

// A reply written while the server shuts down carries crrst, so clients
// drop the connection instead of reusing it.
func TestShutdownRepliesCarryConnReset(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(slog.New(slog.DiscardHandler)))
	if err := svr.RegisterService(echo.ServiceInfo(), hopHandler{func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
		close(entered)
		<-release
		return echoBack(ctx, req)
	}}); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", svr.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One TTHeader+Framed Echo call, written by Skiff's own encoder.
	req := transporttest.NewBuffer()
	args := &echo.EchoServiceEchoArgs{Req: &echo.EchoRequest{Message: "x"}}
	if err := ttheader.TTHeaderFramed.WriteMessage(req, &codec.Message{Type: codec.Call, SeqID: 1, Method: "Echo", Payload: args}, thriftcodec.Codec); err != nil {
		t.Fatal(err)
	}
	_ = req.Flush()
	raw, _ := req.Next(req.Len())
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- svr.Stop() }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := transporttest.NewBuffer()
	_, _ = r.Write(buf[:n])
	msg := &codec.Message{}
	if _, err := ttheader.TTHeader.ReadMessage(r, msg, transport.DefaultMaxFrameSize); err != nil {
		t.Fatal(err)
	}
	if v, _ := msg.Meta.Str(ttheader.KeyConnReset); !msg.ConnReset || v != "1" {
		t.Fatalf("reply during shutdown has no crrst: %+v", msg.Meta)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
