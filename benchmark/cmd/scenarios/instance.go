package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/cloudwego/kitex/pkg/transmeta"
	kserver "github.com/cloudwego/kitex/server"

	kecho "github.com/skiffrpc/skiff/benchmark/kitex_gen/echo"
	kechosvc "github.com/skiffrpc/skiff/benchmark/kitex_gen/echo/echoservice"
	skiffserver "github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
	_ "github.com/skiffrpc/skiff/transport-ttheader" // the server sniffs TTHeader
)

// handlerDelay is the work of one healthy call.
const handlerDelay = time.Millisecond

// behaviour is what an instance's handler does now, changed by commands on
// its standard input.
type behaviour struct {
	slow atomic.Int64 // delay multiplier (1: healthy)
	fail atomic.Bool  // answer every call with an error
	hits atomic.Int64 // handler runs
}

// serve runs one call's worth of handler work and says whether it fails.
func (b *behaviour) serve() bool {
	b.hits.Add(1)
	time.Sleep(time.Duration(b.slow.Load()) * handlerDelay)
	return b.fail.Load()
}

type skiffHandler struct{ b *behaviour }

func (h skiffHandler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	if h.b.serve() {
		return nil, status.New(status.Unavailable, "instance failing on purpose")
	}
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}

func (skiffHandler) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

func (skiffHandler) Notify(context.Context, string) error { return nil }

type kitexHandler struct{ b *behaviour }

var errFailing = errors.New("instance failing on purpose")

func (h kitexHandler) Echo(_ context.Context, req *kecho.EchoRequest) (*kecho.EchoResponse, error) {
	if h.b.serve() {
		return nil, errFailing
	}
	return &kecho.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}

func (kitexHandler) Fail(_ context.Context, code int32) (*kecho.EchoResponse, error) {
	return nil, &kecho.EchoError{Code: code, Reason: "requested failure"}
}

func (kitexHandler) Notify(context.Context, string) error { return nil }

// runInstance serves the echo service of framework on addr until its
// standard input closes. It prints "ready" once the port accepts, then
// reads one command a line and answers each with "hits N" (handler runs so
// far): "slow F" (handler takes F ms), "fail 1" / "fail 0", "hits".
func runInstance(framework, addr string) error {
	b := &behaviour{}
	b.slow.Store(1)
	switch framework {
	case "skiff":
		svr := skiffserver.New(skiffserver.WithAddress(addr))
		if err := svr.RegisterService(echo.ServiceInfo(), skiffHandler{b}); err != nil {
			return err
		}
		if err := svr.Start(); err != nil {
			return err
		}
	case "kitex":
		klog.SetLevel(klog.LevelFatal)
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			return err
		}
		svr := kechosvc.NewServer(&kitexHandler{b}, kserver.WithServiceAddr(a),
			kserver.WithMetaHandler(transmeta.ServerTTHeaderHandler))
		errc := make(chan error, 1)
		go func() { errc <- svr.Run() }()
		if err := waitPort(addr, errc); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown framework %q", framework)
	}
	if err := waitPort(addr, nil); err != nil {
		return err
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 2 {
			n, _ := strconv.Atoi(f[1])
			switch f[0] {
			case "slow":
				b.slow.Store(int64(max(n, 1)))
			case "fail":
				b.fail.Store(n != 0)
			}
		}
		fmt.Printf("hits %d\n", b.hits.Load())
	}
	return nil // the driver closed our input: it is done with us
}

// waitPort waits until addr accepts connections (at most 10 s), or errc
// reports that the server stopped.
func waitPort(addr string, errc <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			return fmt.Errorf("server stopped: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s does not accept connections", addr)
}
