package h2transport_test

import (
	"bytes"
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stream"
)

// TestSlowHandlerDoesNotHoldBatch sends, again and again, a burst of
// requests on one connection in which one handler takes 1 s and the
// others answer at once. Their replies are coalesced into shared writes
// (the writer yields once before writing while many streams are busy),
// but the slow handler's pending reply must not hold theirs back.
func TestSlowHandlerDoesNotHoldBatch(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Default, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			h := func(s stream.RawServerStream) {
				if s.Header().Get(":path") == "/slow" {
					select {
					case <-time.After(time.Second):
					case <-s.Context().Done():
					}
				}
				echoHandler(s)
			}
			srv := startServer(t, h, serverConfig{eng: eng})
			cc := dialWith(t, eng, srv.addr)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var (
				mu   sync.Mutex
				lats []time.Duration
				wg   sync.WaitGroup
			)
			slowDone := make(chan error, 10)
			for range 10 {
				// Each burst: one slow request and 20 fast ones, sent together.
				go func() {
					_, _, _, err := call(ctx, cc, "/slow", []byte("s"))
					slowDone <- err
				}()
				for range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						start := time.Now()
						// 2 KB bodies: 20 replies fill writes of 40 KB.
						body := bytes.Repeat([]byte("hello"), 400)
						out, _, _, err := call(ctx, cc, "/fast", body)
						if err != nil || !bytes.Equal(out, body) {
							t.Errorf("fast call: %d bytes, %v", len(out), err)
							return
						}
						mu.Lock()
						lats = append(lats, time.Since(start))
						mu.Unlock()
					}()
				}
				wg.Wait()
			}
			for range 10 {
				if err := <-slowDone; err != nil {
					t.Fatalf("slow call: %v", err)
				}
			}
			if len(lats) == 0 {
				t.Fatal("no fast call succeeded")
			}
			sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
			p90 := lats[len(lats)*9/10]
			t.Logf("fast calls beside a 1 s one: p50 %v, p90 %v, max %v", lats[len(lats)/2], p90, lats[len(lats)-1])
			// Held for the slow reply, fast calls would take until it ends.
			if p90 > 500*time.Millisecond {
				t.Fatalf("fast calls waited for the slow one: p90 %v", p90)
			}
		})
	}
}
