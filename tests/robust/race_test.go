package robust_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// TestCloseWhileWorkers: multiplexed clients closed while 32 callers use
// them, against a server running their calls on workers: nothing hangs or
// races, and every reply that arrives is the right one.
func TestCloseWhileWorkers(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Std, engine.Netpoll} {
		t.Run(eng.Name(), func(t *testing.T) {
			h := hop{func(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
				time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				return &echo.EchoResponse{Message: req.Message + req.Message}, nil
			}}
			svr := start(t, h, server.WithEngine(eng), server.WithConnConcurrency(8))
			defer svr.Stop()
			for round := 0; round < 20; round++ {
				cli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(svr.Addr().String()),
					client.WithTransport(ttheader.TTHeader), client.WithMultiplex(1), client.WithRPCTimeout(2*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				stub := echo.NewClient(cli)
				var wg sync.WaitGroup
				for g := 0; g < 32; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < 10; i++ {
							msg := string(rune('a' + g%26))
							resp, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: msg})
							if err == nil && resp == nil {
								t.Errorf("nil reply and nil error")
							} else if err == nil && resp.Message != msg+msg {
								t.Errorf("wrong reply %q for %q", resp.Message, msg)
							}
						}
					}()
				}
				time.Sleep(time.Duration(rand.IntN(10)) * time.Millisecond)
				_ = cli.Close()
				wg.Wait()
			}
		})
	}
}
