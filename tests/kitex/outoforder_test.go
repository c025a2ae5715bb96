package kitex_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/examples/echo"
	kecho "github.com/skiffrpc/skiff/tests/kitex/kitex_gen/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// TestSkiffClientNeverMultiplexesKitex: a Skiff TTHeader client in its
// default mode offers out-of-order replies; a Kitex server, which serves a
// connection's calls in order, never answers that it takes them, so the
// client keeps one call per connection: fast calls made while a slow one
// runs are not queued behind it.
func TestSkiffClientNeverMultiplexesKitex(t *testing.T) {
	addr := startKitex(t, &kitexEcho{echo: func(_ context.Context, req *kecho.EchoRequest) (*kecho.EchoResponse, error) {
		if req.Message == "slow" {
			time.Sleep(time.Second)
		}
		return &kecho.EchoResponse{Message: req.Message}, nil
	}})
	for _, tp := range []struct {
		name string
		w    wire
	}{{"TTHeader", wire{skiff: ttheader.TTHeader}}, {"TTHeaderFramed", wire{skiff: ttheader.TTHeaderFramed}}} {
		t.Run(tp.name, func(t *testing.T) {
			cli := dialSkiff(t, addr, clientTransport(tp.w))
			ctx := bounded(t)
			for range 3 { // replies the client learns from
				if _, err := cli.Echo(ctx, &echo.EchoRequest{Message: "warm"}); err != nil {
					t.Fatal(err)
				}
			}
			slowDone := make(chan struct{})
			go func() {
				defer close(slowDone)
				if _, err := cli.Echo(ctx, &echo.EchoRequest{Message: "slow"}); err != nil {
					t.Error(err)
				}
			}()
			time.Sleep(20 * time.Millisecond)
			lat := make([]time.Duration, 40)
			var wg sync.WaitGroup
			for i := range lat {
				wg.Add(1)
				go func() {
					defer wg.Done()
					t0 := time.Now()
					if _, err := cli.Echo(ctx, &echo.EchoRequest{Message: "fast"}); err != nil {
						t.Error(err)
					}
					lat[i] = time.Since(t0)
				}()
			}
			wg.Wait()
			<-slowDone
			slices.Sort(lat)
			if worst := lat[len(lat)-1]; worst > 600*time.Millisecond {
				t.Errorf("a fast call took %v while a slow one ran: the client multiplexed a Kitex server", worst)
			}
		})
	}
}
