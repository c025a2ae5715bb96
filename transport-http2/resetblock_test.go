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

// Reset (called from a timer/ctx goroutine) must not block on a peer that
// stopped reading.
func TestResetDoesNotBlockOnAStalledPeer(t *testing.T) {
	cli, srv := net.Pipe()
	defer cli.Close()
	defer srv.Close()
	fr := http2.NewFramer(srv, srv)
	fr.SetMaxReadFrameSize(1 << 24)
	var wmu sync.Mutex
	hsDone := make(chan struct{})
	sent := make(chan struct{}) // the server's SETTINGS are written
	stop := make(chan struct{})
	go func() {
		pre := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(srv, pre); err != nil {
			return
		}
		go func() {
			wmu.Lock()
			defer wmu.Unlock()
			_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
			_ = fr.WriteWindowUpdate(0, 1<<31-1-65535)
			close(sent)
		}()
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if _, ok := f.(*http2.HeadersFrame); ok {
				<-stop // stop reading
			}
			if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
				go func() {
					<-sent // a server's first frame is its SETTINGS, never the ack
					wmu.Lock()
					_ = fr.WriteSettingsAck()
					wmu.Unlock()
					close(hsDone)
				}()
			}
		}
	}()
	cc, err := h2transport.New().NewClientConn(engine.NewStdConn(cli), stream.ClientConnParams{Authority: "x"})
	if err != nil {
		t.Fatal(err)
	}
	<-hsDone
	ctx := context.Background()
	big := make([]byte, 5<<20)
	s1, _ := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/a"}})
	go func() { _, _ = s1.Write(big); _ = s1.Flush() }()
	time.Sleep(100 * time.Millisecond)
	s3, _ := cc.NewStream(ctx, stream.Header{{Name: ":path", Value: "/b"}})
	go func() { _, _ = s3.Write(big); _ = s3.Flush() }()
	time.Sleep(100 * time.Millisecond)
	done := make(chan struct{})
	go func() { s3.Reset(stream.CodeCancel); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		close(stop)
		cc.Close()
		t.Fatal("Reset blocked for 2s on a peer that does not read")
	}
	close(stop)
	cc.Close()
}
