package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
)

const benchServerEnv = "SKIFF_E2E_BENCH_SERVER"

// benchHandler echoes without recording anything.
type benchHandler struct{ *handler }

func (benchHandler) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}

func benchRequest() *echo.EchoRequest {
	seq := int64(1)
	return &echo.EchoRequest{Message: strings.Repeat("x", 1024), Seq: &seq}
}

// runBenchServer serves until SIGTERM, after writing its address to file.
func runBenchServer(file string) {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	if err := svr.RegisterService(echo.ServiceInfo(), benchHandler{&handler{}}); err != nil {
		panic(err)
	}
	if err := svr.Start(); err != nil {
		panic(err)
	}
	if err := os.WriteFile(file+".tmp", []byte(svr.Addr().String()), 0o600); err != nil {
		panic(err)
	}
	if err := os.Rename(file+".tmp", file); err != nil {
		panic(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	_ = svr.Stop()
}

func benchCalls(b *testing.B, stub *echo.Client) {
	req := benchRequest()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(1024)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := stub.Echo(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEchoCall measures a 1 KB echo call over Thrift Framed on
// loopback. "both-sides" runs server and client in this process, so its
// allocs/op are the sum of both sides; "client-only" runs the server in a
// child process, so its allocs/op are the client's alone. The server's are
// the difference.
func BenchmarkEchoCall(b *testing.B) {
	b.Run("both-sides", func(b *testing.B) {
		svr := startServer(b, benchHandler{&handler{}})
		_, stub := newClient(b, svr.Addr().String())
		benchCalls(b, stub)
	})
	b.Run("client-only", func(b *testing.B) {
		addr := startChildServer(b)
		_, stub := newClient(b, addr, client.WithRPCTimeout(5*time.Second))
		benchCalls(b, stub)
	})
	b.Run("server-invoker", func(b *testing.B) {
		inv := server.NewInvoker(server.WithLogger(quiet))
		if err := inv.RegisterService(echo.ServiceInfo(), benchHandler{&handler{}}); err != nil {
			b.Fatal(err)
		}
		req := invokerRequest(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := inv.Call(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// invokerRequest is a Framed Echo call with the 1 KB request, encoded by a
// client through the Invoker's view of bytes.
func invokerRequest(b *testing.B) []byte {
	args := &echo.EchoServiceEchoArgs{Req: benchRequest()}
	body := args.FastAppend(nil)
	return framed(thriftMsg(1, "Echo", 1, body...))
}

func startChildServer(b *testing.B) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	file := b.TempDir() + "/addr"
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"="+file)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if addr, err := os.ReadFile(file); err == nil && len(addr) > 0 {
			return string(addr)
		}
	}
	b.Fatal("benchmark server did not start")
	return ""
}

// BenchmarkEchoParallel runs 1 KB echo calls from many goroutines
// (GOMAXPROCS × 50 with -cpu, see b.SetParallelism) over the pool (one
// connection per call in flight) and over multiplexed connections.
func BenchmarkEchoParallel(b *testing.B) {
	for _, mode := range []struct {
		name string
		opt  client.Option
	}{
		{"pool", client.WithLongConnection(client.PoolConfig{MaxIdlePerAddress: 1000, MaxIdleGlobal: 1000})},
		{"multiplex", client.WithMultiplex(2)},
	} {
		b.Run(mode.name, func(b *testing.B) {
			svr := startServer(b, benchHandler{&handler{}})
			_, stub := newClient(b, svr.Addr().String(), mode.opt)
			req := benchRequest()
			b.ReportAllocs()
			b.SetParallelism(50)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := stub.Echo(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
