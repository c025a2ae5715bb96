package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/server"
)

// maxConns is a connection limiter: a ConnHook that accepts at most max
// connections at a time.
type maxConns struct {
	max int

	mu            sync.Mutex
	open, refused int
}

func (l *maxConns) Accept(net.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max {
		l.refused++
		return errors.New("connection limit reached")
	}
	l.open++
	return nil
}

func (l *maxConns) Closed(net.Addr) {
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
}

// A connection limiter refuses the connections beyond its limit: the
// server closes them before reading anything.
func ExampleWithConnHook() {
	limiter := &maxConns{max: 1}
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithConnHook(limiter))
	_ = svr.RegisterService(toycodec.Service(), toycodec.Handler(func(_ context.Context, in []byte) ([]byte, error) { return in, nil }))
	if err := svr.Start(); err != nil {
		panic(err)
	}
	defer svr.Stop()
	addr := svr.Addr().String()

	cli, err := client.New(toycodec.Service(), client.WithHostPorts(addr))
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	var out toycodec.Bytes
	err = cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("hi")}, &out)
	fmt.Println("first connection:", string(out.B), err)

	c, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_, err = c.Read(make([]byte, 1))
	fmt.Println("second connection:", err)

	limiter.mu.Lock()
	fmt.Println("refused:", limiter.refused)
	limiter.mu.Unlock()
	// Output:
	// first connection: hi <nil>
	// second connection: EOF
	// refused: 1
}

// A server answers the methods no registered service has with raw payloads,
// as a proxy or a generic server does. Here the toy codec's payload is the
// bytes themselves; with Thrift they are the args and result structs.
func ExampleWithUnknownMethodHandler() {
	svr := server.New(server.WithAddress("127.0.0.1:0"),
		server.WithUnknownMethodHandler(func(_ context.Context, _, method string, req []byte) ([]byte, error) {
			if method != "Shout" {
				return nil, fmt.Errorf("no method %s here either", method)
			}
			return []byte(strings.ToUpper(string(req))), nil
		}))
	_ = svr.RegisterService(toycodec.Service(), toycodec.Handler(func(_ context.Context, in []byte) ([]byte, error) { return in, nil }))
	if err := svr.Start(); err != nil {
		panic(err)
	}
	defer svr.Stop()

	cli, err := client.New(toycodec.Service(), client.WithHostPorts(svr.Addr().String()))
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	var out codec.Raw
	err = cli.Call(context.Background(), "Shout", codec.Raw("hello"), &out)
	fmt.Println(string(out), err)
	err = cli.Call(context.Background(), "Whisper", codec.Raw("hello"), &out)
	fmt.Println(err)
	// Output:
	// HELLO <nil>
	// remote: internal: no method Whisper here either
}
