// Command echo runs the Skiff echo example: a server and a client talking
// Thrift over Netpoll on loopback. With no flags it runs both in one
// process, calls the server over Thrift Framed and Thrift Buffered, prints
// the replies and stops the server gracefully. -mode server or -mode client
// runs one side.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
)

// handler implements echo.EchoService.
type handler struct {
	mu       sync.Mutex
	notified []string
	notify   chan struct{}
}

func (h *handler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq, Extra: req.Extra, Blob: req.Blob}, nil
}

func (h *handler) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

func (h *handler) Notify(_ context.Context, message string) error {
	h.mu.Lock()
	h.notified = append(h.notified, message)
	h.mu.Unlock()
	select {
	case h.notify <- struct{}{}:
	default:
	}
	return nil
}

func main() {
	mode := flag.String("mode", "both", "both, server or client")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (server) or server address (client)")
	flag.Parse()
	var err error
	switch *mode {
	case "server":
		err = runServer(*addr)
	case "client":
		err = runClient(*addr, nil)
	case "both":
		err = runBoth(*addr)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func newServer(addr string, h *handler) (*server.Server, error) {
	svr := server.New(server.WithAddress(addr), server.WithExitWaitTime(2*time.Second))
	return svr, svr.RegisterService(echo.ServiceInfo(), h)
}

func runServer(addr string) error {
	svr, err := newServer(addr, &handler{notify: make(chan struct{}, 1)})
	if err != nil {
		return err
	}
	fmt.Println("echo server listening on", addr, "(Ctrl-C to stop)")
	return svr.Run()
}

func runBoth(addr string) error {
	h := &handler{notify: make(chan struct{}, 1)}
	svr, err := newServer(addr, h)
	if err != nil {
		return err
	}
	if err := svr.Start(); err != nil {
		return err
	}
	fmt.Println("server listening on", svr.Addr())
	cerr := runClient(svr.Addr().String(), h.notify)
	if err := svr.Stop(); err != nil {
		return err
	}
	fmt.Println("server stopped gracefully")
	if cerr == nil {
		h.mu.Lock()
		fmt.Printf("server received oneway notifications: %q\n", h.notified)
		h.mu.Unlock()
	}
	return cerr
}

// runClient calls the server over Framed and over Buffered. notified, if
// not nil, is signalled when the server handles a oneway call.
func runClient(addr string, notified <-chan struct{}) error {
	for _, tp := range []transport.Protocol{transport.Framed, thriftcodec.Buffered} {
		cli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(addr),
			client.WithTransport(tp), client.WithRPCTimeout(3*time.Second))
		if err != nil {
			return err
		}
		stub := echo.NewClient(cli)
		ctx := context.Background()
		seq := int64(42)
		resp, err := stub.Echo(ctx, &echo.EchoRequest{Message: "hello ☺", Seq: &seq,
			Extra: map[string]string{"transport": tp.Name()}, Blob: []byte{0x00, 0x7f, 0x80, 0xff}})
		if err != nil {
			cli.Close()
			return fmt.Errorf("%s Echo: %w", tp.Name(), err)
		}
		fmt.Printf("[%s] Echo -> message=%q seq=%d extra=%v blob=% x\n", tp.Name(), resp.Message, *resp.Seq, resp.Extra, resp.Blob)

		_, err = stub.Fail(ctx, 7)
		var ee *echo.EchoError
		if !errors.As(err, &ee) {
			cli.Close()
			return fmt.Errorf("%s Fail: want *echo.EchoError, got %v", tp.Name(), err)
		}
		fmt.Printf("[%s] Fail(7) -> declared exception EchoError{code=%d, reason=%q}\n", tp.Name(), ee.Code, ee.Reason)

		if err := stub.Notify(ctx, "ping over "+tp.Name()); err != nil {
			cli.Close()
			return fmt.Errorf("%s Notify: %w", tp.Name(), err)
		}
		if notified != nil {
			select {
			case <-notified:
			case <-time.After(3 * time.Second):
				cli.Close()
				return fmt.Errorf("%s Notify: the server did not see the oneway call", tp.Name())
			}
		}
		fmt.Printf("[%s] Notify -> oneway sent\n", tp.Name())
		cli.Close()
	}
	return nil
}
