package grpccodec_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/stream"
)

// TestLengthPrefixReservesNothing: 5-byte prefixes announcing 4 MiB
// messages on 100 streams, and nothing else, must not make the server
// reserve the announced memory (it grows with the data that arrives).
func TestLengthPrefixReservesNothing(t *testing.T) {
	conn := serve(grpccodec.Default, echoDispatcher())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithCancel(context.Background())
	const n = 100
	for i := 0; i < n; i++ {
		raw, err := conn.NewStream(ctx, stream.Header{{Name: ":path", Value: "/test.Echo/Echo"}, {Name: "content-type", Value: "application/grpc"}})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = raw.Write([]byte{0, 0, 0x40, 0, 0}) // length 4 MiB
	}
	time.Sleep(500 * time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d streams x 5 bytes sent: heap in use grew by %d KiB", n, grew>>10)
	if grew > 64<<20 {
		t.Errorf("heap grew by %d MiB for %d length prefixes", grew>>20, n)
	}
	cancel()
	conn.Wait()
}
