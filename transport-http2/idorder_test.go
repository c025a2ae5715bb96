package h2transport_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// A peer that grants huge windows and reads slowly: stream ids must still
// reach the wire in increasing order.
func TestStreamIDsIncreaseOnTheWire(t *testing.T) {
	cli, srv := net.Pipe()
	defer cli.Close()
	defer srv.Close()
	fr := http2.NewFramer(srv, srv)
	fr.SetMaxReadFrameSize(1 << 24)
	hsDone := make(chan struct{})
	gate := make(chan struct{})
	ids := make(chan uint32, 1000)
	var wmu sync.Mutex
	setSent := make(chan struct{})
	go func() {
		pre := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(srv, pre); err != nil {
			return
		}
		go func() {
			wmu.Lock()
			defer wmu.Unlock()
			defer close(setSent)
			_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
			_ = fr.WriteWindowUpdate(0, 1<<31-1-65535)
		}()
		first := true
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				close(ids)
				return
			}
			if h, ok := f.(*http2.HeadersFrame); ok {
				ids <- h.StreamID
				if first {
					first = false
					<-gate // stop reading after the first request's HEADERS
				}
			}
			if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
				go func() { <-setSent; wmu.Lock(); _ = fr.WriteSettingsAck(); wmu.Unlock(); close(hsDone) }()
			}
		}
	}()
	cc, err := h2transport.New().NewClientConn(engine.NewStdConn(cli), stream.ClientConnParams{Authority: "x"})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	<-hsDone
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	big := make([]byte, 5<<20)
	// Stream 1: blocks the inline write (peer not reading).
	s1, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/a"}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = s1.Write(big); _ = s1.Flush() }()
	time.Sleep(100 * time.Millisecond)
	// Stream 3: queues 5 MiB (over maxPending) behind it.
	s3, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/b"}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = s3.Write(big); _ = s3.Flush() }()
	time.Sleep(100 * time.Millisecond)
	// Now many NewStreams wait in writableLocked holding assigned ids.
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/c"}})
			if err == nil {
				_ = s.Flush()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(gate) // peer reads again
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	cc.Close()
	var got []uint32
	for id := range ids {
		got = append(got, id)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("HEADERS stream ids out of order on the wire: %v", got)
		}
	}
	t.Logf("order ok: %v", got)
}
