//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64)

package engine_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/engine"
)

// TestMallocAck: both engines' writers take back what was written after a
// point (conn.Rewind, as a server does with a reply that failed to encode
// part way), across Malloc and WriteBinary and, on Netpoll, across buffer
// nodes; what was flushed before and what is kept go out intact, and
// nothing of what was taken back does.
func TestMallocAck(t *testing.T) {
	for _, e := range []struct {
		name string
		eng  engine.Engine
	}{{"netpoll", engine.Netpoll}, {"std", engine.Std}} {
		t.Run(e.name, func(t *testing.T) {
			addr, got := readingPeer(t)
			c, err := e.eng.Dial("tcp", addr, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			w := c.Writer()
			fill := func(n int, v byte) []byte {
				b, err := w.Malloc(n)
				if err != nil {
					t.Fatal(err)
				}
				for i := range b {
					b[i] = v
				}
				return b
			}
			var want []byte
			want = append(want, fill(100, 'a')...)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			want = append(want, fill(10, 'k')...)
			if _, err := w.WriteBinary([]byte("kept")); err != nil {
				t.Fatal(err)
			}
			want = append(want, "kept"...)
			keep := w.MallocLen()
			fill(300, 'x')
			fill(20<<10, 'y') // past a Netpoll node
			if _, err := w.WriteBinary(bytes.Repeat([]byte("z"), 100)); err != nil {
				t.Fatal(err)
			}
			if !conn.Rewind(w, keep) {
				t.Fatal("Rewind refused")
			}
			if n := w.MallocLen(); n != keep {
				t.Fatalf("MallocLen after Rewind(%d) = %d", keep, n)
			}
			want = append(want, fill(5, 'e')...) // writing goes on after the kept bytes
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := w.(conn.MallocAcker).MallocAck(1); err == nil {
				t.Error("MallocAck past what was written: no error")
			}
			_ = c.Close()
			if b := <-got; !bytes.Equal(b, want) {
				t.Fatalf("peer read %d bytes %q..., want %d bytes %q...", len(b), head(b), len(want), head(want))
			}
		})
	}
}

// readingPeer listens on loopback for one connection and sends on got
// everything read from it until it closes (at most 20 s).
func readingPeer(t *testing.T) (addr string, got <-chan []byte) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	out := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			out <- nil
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, _ := io.ReadAll(c)
		out <- b
	}()
	return ln.Addr().String(), out
}

// head returns at most the first 40 bytes of b.
func head(b []byte) []byte { return b[:min(len(b), 40)] }

// TestStdMallocAckVectored: the net-based engine keeps a large WriteBinary
// slice for a vectored write instead of copying it, and cannot take it
// back: Rewind says so, and the caller must not flush.
func TestStdMallocAckVectored(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_, _ = io.Copy(io.Discard, c)
			_ = c.Close()
		}
	}()
	c, err := engine.Std.Dial("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := c.Writer()
	if _, err := w.WriteBinary(make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	if conn.Rewind(w, 0) {
		t.Fatal("Rewind took back a slice queued for a vectored write")
	}
	if w.MallocLen() != 64<<10 {
		t.Fatalf("a refused Rewind changed MallocLen to %d", w.MallocLen())
	}
}

// TestMallocAckRandom drives both engines' writers through random
// sequences of Malloc, WriteBinary (small, copied; large, kept by
// reference), Rewind to a random earlier point and Flush, and checks that
// the peer reads exactly the bytes that were kept, in order. A Rewind
// that is refused (to 0 on Netpoll, past a kept slice on std) must leave
// the bytes as they were; most to 0 must be done. A node split before
// Netpoll's MallocAck(0), tried first, failed here; so did Netpoll's
// MallocAck(0) alone, which sends bytes written into the node the last
// Flush ended in.
func TestMallocAckRandom(t *testing.T) {
	for _, e := range []struct {
		name string
		eng  engine.Engine
	}{{"netpoll", engine.Netpoll}, {"std", engine.Std}} {
		for seed := uint64(1); seed <= 6; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", e.name, seed), func(t *testing.T) { mallocAckRandom(t, e.name, e.eng, seed) })
		}
	}
}

// mallocAckRandom is one TestMallocAckRandom run: engine eng (named
// name), random steps from seed.
func mallocAckRandom(t *testing.T, name string, eng engine.Engine, seed uint64) {
	addr, got := readingPeer(t)
	c, err := eng.Dial("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w := c.Writer()
	rng := rand.New(rand.NewPCG(seed, 2))
	var want, session []byte // sent; written since the last Flush
	var seq byte
	zeros := 0 // Rewinds to 0 with bytes written that were done
	next := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			seq++
			b[i] = seq
		}
		return b
	}
	for op := 0; op < 3000; op++ {
		switch r := rng.IntN(10); {
		case r < 4:
			n := 1 + rng.IntN([]int{16, 600, 9000}[rng.IntN(3)])
			if rng.IntN(4) == 0 { // near a node's size: 4, 8 or 16 KiB
				n = []int{4 << 10, 8 << 10, 16 << 10}[rng.IntN(3)] - 2 + rng.IntN(5)
			}
			b, err := w.Malloc(n)
			if err != nil {
				t.Fatal(err)
			}
			copy(b, next(n))
			session = append(session, b...)
		case r < 6:
			n := 1 + rng.IntN([]int{100, 10000}[rng.IntN(2)])
			b := next(n)
			if _, err := w.WriteBinary(b); err != nil {
				t.Fatal(err)
			}
			session = append(session, b...)
		case r < 8:
			keep := rng.IntN(len(session) + 1)
			if rng.IntN(3) == 0 {
				keep = 0
			}
			if conn.Rewind(w, keep) {
				if keep == 0 && len(session) > 0 {
					zeros++
				}
				session = session[:keep]
			} else if name == "netpoll" && keep > 0 {
				t.Fatalf("op %d: Netpoll refused Rewind(%d) of %d", op, keep, len(session))
			}
		default:
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			want = append(want, session...)
			session = session[:0]
		}
		if w.MallocLen() != len(session) {
			t.Fatalf("op %d: MallocLen %d, want %d", op, w.MallocLen(), len(session))
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want = append(want, session...)
	if zeros < 20 {
		t.Errorf("only %d Rewinds to 0 done", zeros)
	}
	_ = c.Close()
	b := <-got
	if !bytes.Equal(b, want) {
		i := 0
		for i < min(len(b), len(want)) && b[i] == want[i] {
			i++
		}
		t.Fatalf("peer read %d bytes, want %d; first difference at %d", len(b), len(want), i)
	}
}
