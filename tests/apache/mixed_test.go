package apache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/skiffrpc/skiff/examples/echo"
	gen "github.com/skiffrpc/skiff/tests/apache/gen-go/echo"
)

// TestSkiffServerMixedApacheClients: one Skiff port serves Framed and
// Buffered Apache clients at the same time, each on several connections.
func TestSkiffServerMixedApacheClients(t *testing.T) {
	const (
		connsPerTransport = 4
		callsPerConn      = 200
	)
	addr := startSkiffServer(t, newSkiffImpl())
	ctx := context.Background()

	var wg sync.WaitGroup
	for _, tr := range apacheTransports {
		for i := 0; i < connsPerTransport; i++ {
			c := newApacheClient(t, addr, tr) // one connection per goroutine
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; n < callsPerConn; n++ {
					seq := int64(n)
					msg := fmt.Sprintf("%s-%d-%d ✓", tr.name, i, n)
					blob := []byte{byte(n), 0x00, 0xff, byte(i)}
					resp, err := c.Echo(ctx, &gen.EchoRequest{
						Message: msg, Seq: &seq, Blob: blob,
						Extra: map[string]string{"transport": tr.name},
					})
					if err != nil {
						t.Errorf("%s conn %d call %d: %v", tr.name, i, n, err)
						return
					}
					if resp.Message != msg || resp.Seq == nil || *resp.Seq != seq ||
						string(resp.Blob) != string(blob) || resp.Extra["transport"] != tr.name {
						t.Errorf("%s conn %d call %d: got %+v", tr.name, i, n, resp)
						return
					}
					if n%50 == 49 {
						_, err := c.Fail(ctx, int32(n))
						var ee *gen.EchoError
						if !errors.As(err, &ee) || ee.Code != int32(n) {
							t.Errorf("%s conn %d: Fail(%d) = %v, want EchoError code %d", tr.name, i, n, err, n)
							return
						}
					}
				}
			}()
		}
	}
	wg.Wait()
}

// TestSkiffClientConcurrentApacheServer: one Skiff client, shared by many
// goroutines, calls an Apache server that answers one request at a time per
// connection (plain ping-pong, no multiplexing).
func TestSkiffClientConcurrentApacheServer(t *testing.T) {
	const (
		goroutines = 8
		calls      = 100
	)
	for _, tr := range skiffTransports {
		t.Run(tr.name, func(t *testing.T) {
			addr := startApacheServer(t, tr.apache, newApacheHandler())
			stub := echo.NewClient(newSkiffClient(t, addr, tr.proto))
			ctx := context.Background()
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; n < calls; n++ {
						seq := int64(g*calls + n)
						msg := fmt.Sprintf("g%d-n%d ✓", g, n)
						resp, err := stub.Echo(ctx, &echo.EchoRequest{Message: msg, Seq: &seq, Blob: []byte{byte(n), 0xff}})
						if err != nil {
							t.Errorf("goroutine %d call %d: %v", g, n, err)
							return
						}
						if resp.Message != msg || resp.Seq == nil || *resp.Seq != seq || len(resp.Blob) != 2 || resp.Blob[0] != byte(n) {
							t.Errorf("goroutine %d call %d: got %+v", g, n, resp)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}
