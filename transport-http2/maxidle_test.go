package h2transport_test

import (
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/engine"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// WithMaxConnectionIdle: a connection with no stream for the idle time is
// closed with GOAWAY NO_ERROR "max_idle"; one whose stream stays open is
// not, however long.
func TestMaxConnectionIdle(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Default, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			const idle = 300 * time.Millisecond
			srv := startServer(t, stallHandler, serverConfig{eng: eng, opts: []h2transport.Option{h2transport.WithMaxConnectionIdle(idle)}})

			// A connection that opens no stream.
			t0 := time.Now()
			r := rawDial(t, srv.addr)
			g := r.waitGoAway()
			if g == nil || g.ErrCode != http2.ErrCodeNo || string(g.DebugData()) != "max_idle" {
				t.Fatalf("GOAWAY %v, want NO_ERROR max_idle", g)
			}
			if el := time.Since(t0); el < idle-50*time.Millisecond || el > idle+3*time.Second {
				t.Errorf("closed after %v, idle time %v", el, idle)
			}
			for f := r.next(); f != nil; f = r.next() {
			}

			// A connection with a stream open for five idle times stays.
			r2 := rawDial(t, srv.addr)
			blk := r2.block(":method", "POST", ":scheme", "http", ":path", "/hold", ":authority", "x")
			if err := r2.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk, EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			_ = r2.nc.SetReadDeadline(time.Now().Add(5 * idle))
			for {
				f, err := r2.fr.ReadFrame()
				if err != nil {
					break // the deadline: the connection stayed open
				}
				if g, ok := f.(*http2.GoAwayFrame); ok {
					t.Fatalf("with a stream open the server sent %v", g)
				}
			}
			// Once the stream ends, the idle time runs again.
			if err := r2.fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
				t.Fatal(err)
			}
			_ = r2.nc.SetReadDeadline(time.Time{})
			if g := r2.waitGoAway(); g == nil || string(g.DebugData()) != "max_idle" {
				t.Fatalf("after the stream ended: GOAWAY %v, want max_idle", g)
			}
		})
	}
}

// The default is DefaultMaxConnectionIdle; WithMaxConnectionIdle(0) turns
// it off (a connection then stays open with no stream).
func TestMaxConnectionIdleOff(t *testing.T) {
	if h2transport.DefaultMaxConnectionIdle != 10*time.Minute {
		t.Fatalf("DefaultMaxConnectionIdle = %v", h2transport.DefaultMaxConnectionIdle)
	}
	srv := startServer(t, stallHandler, serverConfig{opts: []h2transport.Option{h2transport.WithMaxConnectionIdle(0)}})
	r := rawDial(t, srv.addr)
	_ = r.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			break // the deadline: nothing closed the connection
		}
		if _, ok := f.(*http2.GoAwayFrame); ok {
			t.Fatal("GOAWAY with the idle close off")
		}
	}
}
