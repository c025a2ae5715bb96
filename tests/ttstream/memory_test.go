package ttstream_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/stream"
	kse "github.com/skiffrpc/skiff/tests/ttstream/kitex_gen/streamecho"
	se "github.com/skiffrpc/skiff/tests/ttstream/skiff_gen/streamecho"
)

// liveHeap is the runtime metric of the heap the last collection marked
// live: what is held, without the garbage allocated since.
const liveHeap = "/gc/heap/live:bytes"

// readLive returns the heap the last collection found live.
func readLive() uint64 {
	s := []metrics.Sample{{Name: liveHeap}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapPeak samples the live heap every few milliseconds until stop is
// closed, and sends its peak.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			peak = max(peak, readLive())
			select {
			case <-stop:
				out <- peak
				return
			case <-tk.C:
			}
		}
	}()
	return out
}

// measure runs read (which reads a 64 MiB server stream slowly) and
// returns the peak growth of the live heap over the baseline, in MiB. The
// live heap is what each collection marked: what client and server held,
// not the garbage of messages already read, which a loaded machine lets
// pile up between cycles.
func measure(t *testing.T, read func() (int, error)) int64 {
	t.Helper()
	// Collect often, so that the live heap is sampled many times.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	base := readLive()
	stop := make(chan struct{})
	peakc := heapPeak(stop)
	n, err := read()
	close(stop)
	peak := <-peakc
	if err != nil {
		t.Fatal(err)
	}
	if n != 1024 {
		t.Fatalf("read %d messages, want 1024", n)
	}
	return (int64(peak) - int64(base)) >> 20
}

// slowly pauses 15 ms after every 16 messages (1 MiB).
func slowly(i int) {
	if i%16 == 15 {
		time.Sleep(15 * time.Millisecond)
	}
}

// TestMemorySlowReader streams 64 MiB (1024 messages of 64 KiB) from a
// server to a slow reader, client and server in this process, and reports
// the heap's peak growth: Skiff to Skiff over ttstream (flow control on,
// which must stay far below 64 MiB), and Kitex to Kitex under the same
// load for comparison (no flow control: the client buffers what the
// server sends ahead).
func TestMemorySlowReader(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 128 MiB")
	}
	n := int64(1024)
	skiffGrowth := func() int64 {
		addr := startSkiff(t, &skiffImpl{})
		d := dialSkiff(t, addr).(skiffDriver)
		return measure(t, func() (int, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cs, err := d.c.NewStream(ctx, "Spread")
			if err != nil {
				return 0, err
			}
			s := &stream.GenericClientStream[se.EchoRequest, se.EchoResponse]{ClientStream: cs}
			if err := s.Send(&se.EchoRequest{Message: "big", Seq: &n}); err != nil {
				return 0, err
			}
			_ = s.CloseSend()
			for i := 0; ; i++ {
				if _, err := s.Recv(); errors.Is(err, io.EOF) {
					return i, nil
				} else if err != nil {
					return i, err
				}
				slowly(i)
			}
		})
	}()
	kitexGrowth := func() int64 {
		addr := startKitex(t, &kitexImpl{canceled: make(chan error, 1)})
		d := dialKitex(t, addr).(kitexDriver)
		return measure(t, func() (int, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := d.c.Spread(ctx, &kse.EchoRequest{Message: "big", Seq: &n})
			if err != nil {
				return 0, err
			}
			for i := 0; ; i++ {
				if _, err := s.Recv(ctx); errors.Is(err, io.EOF) {
					return i, nil
				} else if err != nil {
					return i, err
				}
				slowly(i)
			}
		})
	}()
	t.Logf("64 MiB server stream to a slow reader, peak heap growth: Skiff<->Skiff ttstream %d MiB, Kitex<->Kitex ttstream %d MiB", skiffGrowth, kitexGrowth)
	if skiffGrowth > 16 {
		t.Errorf("Skiff's heap grew by %d MiB with flow control on", skiffGrowth)
	}
}
