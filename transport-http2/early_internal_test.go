package h2transport

import (
	"bytes"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	skconn "github.com/skiffrpc/skiff/core/conn"
)

// flushRecorder is a connection whose writer records what each Flush
// sends (a unit-test double: the transport's tests over real engines are
// in the external test package).
type flushRecorder struct {
	mu      sync.Mutex
	pending int
	flushes []int
}

func (f *flushRecorder) Reader() skconn.Reader              { return nil }
func (f *flushRecorder) Writer() skconn.Writer              { return f }
func (f *flushRecorder) SetReadTimeout(time.Duration) error { return nil }
func (f *flushRecorder) IsActive() bool                     { return true }
func (f *flushRecorder) Close() error                       { return nil }
func (f *flushRecorder) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (f *flushRecorder) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (f *flushRecorder) Malloc(n int) ([]byte, error)       { f.add(n); return make([]byte, n), nil }
func (f *flushRecorder) WriteBinary(b []byte) (int, error)  { f.add(len(b)); return len(b), nil }
func (f *flushRecorder) MallocLen() int                     { f.mu.Lock(); defer f.mu.Unlock(); return f.pending }
func (f *flushRecorder) add(n int)                          { f.mu.Lock(); f.pending += n; f.mu.Unlock() }
func (f *flushRecorder) Flush() error {
	f.mu.Lock()
	f.flushes = append(f.flushes, f.pending)
	f.pending = 0
	f.mu.Unlock()
	return nil
}

func (f *flushRecorder) written() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.flushes...)
}

// TestEarlyWrite: while the writer goroutine is kicked but has not
// started, a goroutine that finds earlyFlushBytes queued writes them
// itself; less stays for the writer, and an early write never overlaps
// another write: the writer waits for it to end.
func TestEarlyWrite(t *testing.T) {
	rec := &flushRecorder{}
	o := defaultOptions()
	c := newConn(rec, &o, true, slog.New(slog.DiscardHandler))
	frame := bytes.Repeat([]byte{'x'}, 1000)

	c.wmu.Lock()
	c.writerUp, c.wactive = true, true // kicked, not started
	c.writeDataLocked(1, frame, false)
	c.flushLocked()
	if got := rec.written(); len(got) != 0 {
		t.Fatalf("%v written with %d bytes queued, want nothing before %d", got, c.pendingLocked(), earlyFlushBytes)
	}
	for c.pendingLocked() < earlyFlushBytes {
		c.writeDataLocked(1, frame, false)
	}
	queued := c.pendingLocked()
	c.flushLocked()
	if got := rec.written(); len(got) != 1 || got[0] != queued {
		t.Fatalf("written %v, want one write of the %d bytes queued", got, queued)
	}
	if c.pendingLocked() != 0 || !c.wactive || c.wsending {
		t.Fatalf("after the early write: %d queued, active %v, sending %v", c.pendingLocked(), c.wactive, c.wsending)
	}

	// A write in progress: no early write, and the writer waits for it.
	c.wsending = true
	for c.pendingLocked() < earlyFlushBytes {
		c.writeDataLocked(1, frame, false)
	}
	queued = c.pendingLocked()
	c.flushLocked()
	c.wmu.Unlock()
	if got := rec.written(); len(got) != 1 {
		t.Fatalf("written %v during another write, want no new write", got)
	}
	c.kick <- struct{}{}
	go c.writeLoop()
	time.Sleep(50 * time.Millisecond)
	if got := rec.written(); len(got) != 1 {
		t.Fatalf("writer wrote %v while another write was in progress", got)
	}
	c.wmu.Lock()
	c.wsending = false
	c.wcond.Broadcast()
	c.wmu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.written()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := rec.written(); len(got) != 2 || got[1] != queued {
		t.Fatalf("written %v, want the writer's write of %d bytes second", got, queued)
	}
	c.wmu.Lock()
	active := c.wactive
	c.wmu.Unlock()
	if active {
		t.Error("writer still active with nothing queued")
	}
	close(c.done)
	<-c.writerDone
}

// TestHoldLimit: a hold starts only with holdMinBytes buffered in the
// reader, and holds at most half of what was buffered then, within
// [holdMinBytes, holdMaxBytes].
func TestHoldLimit(t *testing.T) {
	for _, c := range []struct{ buffered, want int }{
		{holdMinBytes, holdMinBytes},
		{100 << 10, 50 << 10},
		{4 << 20, holdMaxBytes},
	} {
		rec := &flushRecorder{}
		o := defaultOptions()
		cn := newConn(rec, &o, false, slog.New(slog.DiscardHandler))
		cn.rd.r = &bufferedReader{n: c.buffered}
		cn.owe(&h2stream{})
		cn.wmu.Lock()
		if !cn.hold || cn.holdLimit != c.want {
			t.Errorf("%d buffered: hold %v, limit %d, want %d", c.buffered, cn.hold, cn.holdLimit, c.want)
		}
		frame := make([]byte, 1000)
		for cn.pendingLocked()+frameHeaderLen+len(frame) < cn.holdLimit {
			cn.writeDataLocked(1, frame, false)
		}
		if !cn.heldLocked() {
			t.Errorf("%d buffered: %d queued under the limit, not held", c.buffered, cn.pendingLocked())
		}
		for cn.pendingLocked() < cn.holdLimit {
			cn.writeDataLocked(1, frame, false)
		}
		if cn.heldLocked() {
			t.Errorf("%d buffered: %d queued past the limit, still held", c.buffered, cn.pendingLocked())
		}
		cn.releaseLocked()
		cn.wmu.Unlock()
	}
	cn := newConn(&flushRecorder{}, func() *options { o := defaultOptions(); return &o }(), false, slog.New(slog.DiscardHandler))
	cn.rd.r = &bufferedReader{n: holdMinBytes - 1}
	cn.owe(&h2stream{})
	if cn.hold {
		t.Error("a hold started with less than holdMinBytes buffered")
	}
}

// bufferedReader is a reader that reports n bytes buffered.
type bufferedReader struct {
	skconn.Reader
	n int
}

func (b *bufferedReader) Len() int { return b.n }
