package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "github.com/skiffrpc/skiff/codec-protobuf" // Kitex Protobuf, sniffed by the server
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
)

// Sample is what the measured server process reports about itself.
type Sample struct {
	// Goroutines is runtime.NumGoroutine.
	Goroutines int `json:"goroutines"`
	// RSS is the resident set size in bytes (Linux; -1 elsewhere).
	RSS int64 `json:"rss"`
	// FDs is the number of open file descriptors (Linux; -1 elsewhere).
	FDs int `json:"fds"`
	// HeapInuse is runtime.MemStats.HeapInuse.
	HeapInuse uint64 `json:"heap_inuse"`
}

// sampleSelf measures this process.
func sampleSelf() Sample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := Sample{Goroutines: runtime.NumGoroutine(), RSS: -1, FDs: -1, HeapInuse: ms.HeapInuse}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				s.RSS = pages * int64(os.Getpagesize())
			}
		}
	}
	if d, err := os.Open("/proc/self/fd"); err == nil {
		names, _ := d.Readdirnames(-1)
		_ = d.Close()
		s.FDs = len(names) - 1 // without the directory just read
	}
	return s
}

// echoImpl echoes; "slow:<ms>" waits that long first (or until its
// context ends), and Fail returns the declared exception.
type echoImpl struct{}

func (echoImpl) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	if d, ok := strings.CutPrefix(req.Message, "slow:"); ok {
		ms, _ := strconv.Atoi(d)
		t := time.NewTimer(time.Duration(ms) * time.Millisecond)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return &echo.EchoResponse{Message: req.Message}, nil
}

func (echoImpl) Fail(_ context.Context, code int32) (*echo.EchoResponse, error) {
	return nil, &echo.EchoError{Code: code, Reason: "soak"}
}

func (echoImpl) Notify(context.Context, string) error { return nil }

// greeterImpl greets once, or Times times on a stream.
type greeterImpl struct{}

func (greeterImpl) SayHello(_ context.Context, req *greeterpb.HelloRequest) (*greeterpb.HelloReply, error) {
	return &greeterpb.HelloReply{Message: req.Name}, nil
}

func (greeterImpl) LotsOfHellos(req *greeterpb.HelloRequest, ss stream.ServerStreamingServer[greeterpb.HelloReply]) error {
	for i := int32(0); i < req.Times; i++ {
		if err := ss.Send(&greeterpb.HelloReply{Message: req.Name}); err != nil {
			return err
		}
	}
	return nil
}

// newServer returns a server of the soak's services on addr.
func newServer(addr string, eng engine.Engine, log *slog.Logger, opts ...server.Option) (*server.Server, error) {
	svr := server.New(append([]server.Option{server.WithAddress(addr), server.WithEngine(eng), server.WithLogger(log),
		server.WithExitWaitTime(2 * time.Second)}, opts...)...)
	if err := svr.RegisterService(echo.ServiceInfo(), echoImpl{}); err != nil {
		return nil, err
	}
	if err := greeterpb.RegisterGreeter(svr, greeterImpl{}); err != nil {
		return nil, err
	}
	return svr, nil
}

// EngineByName returns the engine called name ("netpoll" or "std").
func EngineByName(name string) (engine.Engine, error) {
	switch name {
	case "", "netpoll":
		return engine.Netpoll, nil
	case "std":
		return engine.Std, nil
	}
	return nil, fmt.Errorf("soak: unknown engine %q (netpoll or std)", name)
}

// Serve is the measured server process: it serves the soak's services on
// 127.0.0.1 with eng, writes "addr <host:port>" on out, then answers each
// "sample" line of in with a JSON Sample line. On "stop" or the end of in
// it stops gracefully, writes "stopped <error or ok>" and returns.
func Serve(in io.Reader, out io.Writer, eng engine.Engine) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	svr, err := newServer("127.0.0.1:0", eng, log)
	if err != nil {
		return err
	}
	if err := svr.Start(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(out, "addr %s\n", svr.Addr()); err != nil {
		_ = svr.Stop()
		return err
	}
	enc := json.NewEncoder(out)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch strings.TrimSpace(sc.Text()) {
		case "sample":
			if err := enc.Encode(sampleSelf()); err != nil {
				_ = svr.Stop()
				return err
			}
		case "stop":
			return stopped(svr, out)
		}
	}
	return stopped(svr, out)
}

func stopped(svr *server.Server, out io.Writer) error {
	err := svr.Stop()
	res := "ok"
	if err != nil {
		res = err.Error()
	}
	_, werr := fmt.Fprintf(out, "stopped %s\n", res)
	if err != nil {
		return err
	}
	return werr
}
