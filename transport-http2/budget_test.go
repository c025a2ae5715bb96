package h2transport_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/stream"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// stallHandler serves "/hold" by reading until the stream ends (a request
// that never finishes holds it), "/big" by writing 256 KiB that a client
// which never gives window back cannot take, and anything else as
// echoHandler.
func stallHandler(s stream.RawServerStream) {
	switch s.Header().Get(":path") {
	case "/hold":
		buf := make([]byte, 4<<10)
		for {
			if _, err := s.Read(buf); err != nil {
				s.Reset(stream.CodeCancel)
				return
			}
		}
	case "/big":
		if _, err := s.Write(make([]byte, 256<<10)); err == nil {
			err = s.Flush()
		}
		s.Reset(stream.CodeCancel)
	default:
		echoHandler(s)
	}
}

// WithStreamMemory: stalled streams of one connection (requests that never
// end, responses the client never takes) spend the budget, and then that
// connection's new streams are refused with REFUSED_STREAM while the
// memory charged stays bounded; a healthy connection is still served; once
// the stalled connection goes, everything it was charged comes back.
func TestStreamMemoryBudget(t *testing.T) {
	for _, eng := range []engine.Engine{engine.Default, engine.Std} {
		t.Run(eng.Name(), func(t *testing.T) {
			const budget = 8 << 20
			srv := startServer(t, stallHandler, serverConfig{eng: eng, opts: []h2transport.Option{h2transport.WithStreamMemory(budget)}})
			r := rawDial(t, srv.addr)
			refused := make(chan uint32, 1000)
			go func() {
				for {
					_ = r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
					f, err := r.fr.ReadFrame()
					if err != nil {
						close(refused)
						return
					}
					if rst, ok := f.(*http2.RSTStreamFrame); ok && rst.ErrCode == http2.ErrCodeRefusedStream {
						refused <- rst.StreamID
					}
				}
			}()
			// 400 stalled streams would hold some 70 MiB: far past the
			// budget. A stream that answers is charged its response once
			// its handler writes it, after it was admitted: the streams go
			// in batches, so that those charges land before the next.
			data := make([]byte, 32<<10)
			for i := 0; i < 400; i++ {
				if i%10 == 0 {
					time.Sleep(20 * time.Millisecond)
				}
				id := uint32(2*i + 1)
				path := "/hold"
				if i%2 == 1 {
					path = "/big"
				}
				blk := r.block(":method", "POST", ":scheme", "http", ":path", path, ":authority", "x")
				if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndHeaders: true, EndStream: path == "/big"}); err != nil {
					t.Fatal(err)
				}
				if path == "/hold" {
					for k := 0; k < len(data); k += 16 << 10 { // the default largest frame
						if err := r.fr.WriteData(id, false, data[k:k+16<<10]); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			select {
			case _, ok := <-refused:
				if !ok {
					t.Fatal("connection ended before any stream was refused")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no stream refused past the budget")
			}
			time.Sleep(200 * time.Millisecond) // let the handlers charge what they hold
			st := srv.proto.MemoryStats()
			t.Logf("stalled: in use %d KiB of %d KiB, %d streams refused", st.InUse>>10, st.Budget>>10, st.Refused)
			// The bound: the budget, plus what the last batches' handlers
			// charged after they were admitted (half of it: slack for
			// a slow machine; the hard bound, where the healthy client
			// below would be refused too, is twice the budget).
			if st.Budget != budget || st.Refused == 0 || st.InUse > budget+budget/2 {
				t.Fatalf("stats %+v: want the budget, refusals, and at most 1.5 budget in use", st)
			}

			// A healthy client holds little: it is served.
			cc := dialWith(t, eng, srv.addr)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for i := 0; i < 20; i++ {
				out, _, _, err := call(ctx, cc, "/echo", []byte("healthy"))
				if err != nil || string(out) != "healthy" {
					t.Fatalf("healthy call %d during the stall: %q, %v", i, out, err)
				}
			}

			// The stalled connection goes: its charge comes back, to the byte.
			_ = r.nc.Close()
			deadline := time.Now().Add(5 * time.Second)
			for srv.proto.MemoryStats().InUse != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("in use %d bytes after the stalled connection closed, want 0", srv.proto.MemoryStats().InUse)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
