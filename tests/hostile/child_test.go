//go:build linux

package hostile_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/diag"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// childEnv names the engine the re-executed test binary serves on.
const childEnv = "SKIFF_HOSTILE_SERVER"

// The child server's bounds: what the suite shows holding.
const (
	childMaxConns     = 1500            // server.WithMaxConns: the idle phase opens 2,000
	childReadTimeout  = 2 * time.Second // server.WithReadTimeout: slowloris, 16 MB headers
	childIdleTimeout  = 3 * time.Second // server.WithIdleTimeout: the idle connections the bound let in
	childStreamMemory = 16 << 20        // h2transport.WithStreamMemory: stalled HTTP/2 streams
	childExitWait     = 500 * time.Millisecond
)

// childStats is what the child reports on "stats".
type childStats struct {
	HeapInuse    uint64                  `json:"heap_inuse"`
	Sys          uint64                  `json:"sys"`
	Goroutines   int                     `json:"goroutines"`
	Conns        int64                   `json:"connections"`
	RefusedConns int64                   `json:"refused_connections"`
	H2           h2transport.MemoryStats `json:"h2"`
}

type echoImpl struct{}

func (echoImpl) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message}, nil
}
func (echoImpl) Fail(context.Context, int32) (*echo.EchoResponse, error) { return nil, nil }
func (echoImpl) Notify(context.Context, string) error                    { return nil }

type greeterImpl struct{}

func (greeterImpl) SayHello(_ context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	return &greeterpb.HelloReply{Message: req.Name}, nil
}

// LotsOfHellos sends the name back times times: a client that never gives
// flow-control window back stalls it.
func (greeterImpl) LotsOfHellos(req *greeterpb.HelloRequest, ss stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	for i := int32(0); i < req.Times; i++ {
		if err := ss.Send(&greeterpb.HelloReply{Message: req.Name}); err != nil {
			return err
		}
	}
	return nil
}

// runChild serves on eng until stdin closes, answering "stats" lines with
// a childStats JSON line and "free" lines (after debug.FreeOSMemory) with
// "OK". It returns the exit code.
func runChild(engName string) int {
	eng := engine.Std
	if engName == engine.Netpoll.Name() {
		eng = engine.Netpoll
	}
	h2 := h2transport.New(h2transport.WithStreamMemory(childStreamMemory))
	reg := diag.NewRegistry(16)
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithEngine(eng),
		server.WithLogger(slog.New(slog.DiscardHandler)),
		server.WithMaxConns(childMaxConns), server.WithReadTimeout(childReadTimeout), server.WithIdleTimeout(childIdleTimeout),
		server.WithExitWaitTime(childExitWait), server.WithDiagnosis(reg),
		server.WithStreamProtocols(h2), server.WithStreamCodecs(grpccodec.Default))
	if err := svr.RegisterService(echo.ServiceInfo(), echoImpl{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := greeterpb.RegisterGreeter(svr, greeterImpl{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := svr.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "ADDR %s\n", svr.Addr())
	_ = out.Flush()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch strings.TrimSpace(in.Text()) {
		case "free":
			// Between phases: give the memory the last one freed back to
			// the system, so the next one's RSS growth is its own.
			debug.FreeOSMemory()
			fmt.Fprintln(out, "OK")
			_ = out.Flush()
			continue
		case "stats":
		default:
			continue
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		st := childStats{HeapInuse: ms.HeapInuse, Sys: ms.Sys, Goroutines: runtime.NumGoroutine(), H2: h2.MemoryStats()}
		for _, v := range reg.Snapshot() {
			b, _ := json.Marshal(v)
			_ = json.Unmarshal(b, &st)
		}
		b, _ := json.Marshal(st)
		out.Write(b)
		out.WriteByte('\n')
		_ = out.Flush()
	}
	_ = svr.Stop()
	return 0
}

// childMain runs the child server when this binary was re-executed as
// one; ok is false otherwise.
func childMain() (code int, ok bool) {
	eng := os.Getenv(childEnv)
	if eng == "" {
		return 0, false
	}
	return runChild(eng), true
}
