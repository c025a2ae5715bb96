package shutdown_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/registrytest"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/examples/echo"
)

// TestStopQuietBounded: clients that keep calling a stopping server over
// Framed (no registry told them, no crrst can) do not hold Stop for the
// whole exit wait: the wait for a quiet moment is bounded (1 s).
func TestStopQuietBounded(t *testing.T) {
	mem := registrytest.NewMemory()
	svr, _, _ := matrixServer(t, engine.Default, mem, 5*time.Second)
	cli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(svr.Addr().String()), client.WithLogger(quiet),
		client.WithTransport(transport.Framed), client.WithRPCTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ec := echo.NewClient(cli)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = ec.Echo(context.Background(), &echo.EchoRequest{Message: "x"})
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(100 * time.Millisecond)
	t0 := time.Now()
	err = svr.Stop()
	el := time.Since(t0)
	t.Logf("Stop under constant Framed load: %v in %v", err, el)
	if el > 3*time.Second {
		t.Errorf("Stop took %v with clients that never go quiet (exit wait 5 s)", el)
	}
}
