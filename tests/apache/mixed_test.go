package apache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

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
