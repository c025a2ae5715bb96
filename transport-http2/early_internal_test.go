package h2transport

import (
	"bytes"
	"fmt"
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

// shortWaitRecorder is a flushRecorder that counts the short waits it is
// told of, as a Netpoll connection would be (conn.ShortWaiter).
type shortWaitRecorder struct {
	flushRecorder
	waits int
}

func (r *shortWaitRecorder) ShortWait() { r.waits++ }

// TestSparseDataShortWaits: a client connection, as a server one, that
// receives DATA frames far apart (the average gap at or over sparseGap)
// tells its engine of a short wait for each, so that on Netpoll with one
// P the goroutine a frame wakes does not wait for the poller's next
// event; frames that come close together tell it nothing.
func TestSparseDataShortWaits(t *testing.T) {
	for _, tc := range []struct{ server, bdp bool }{{false, true}, {false, false}, {true, true}, {true, false}} {
		t.Run(fmt.Sprintf("server=%v,bdp=%v", tc.server, tc.bdp), func(t *testing.T) { sparseDataShortWaits(t, tc.server, tc.bdp) })
	}
}

// sparseDataShortWaits is one case of TestSparseDataShortWaits.
func sparseDataShortWaits(t *testing.T, server, bdp bool) {
	rec := &shortWaitRecorder{}
	o := defaultOptions()
	o.dynamicWindow = bdp
	c := newConn(rec, &o, server, slog.New(slog.DiscardHandler))
	if (c.bdp != nil) != bdp {
		t.Fatalf("the connection has a BDP estimator: %v", c.bdp != nil)
	}
	want := &sparseData.client
	if server {
		want = &sparseData.server
	}
	if c.sparse != want {
		t.Fatal("the connection notes its DATA in the wrong process-wide average")
	}
	c.sparse = &skconn.Sparse{} // this test's own average
	frame := dataFrame{id: 1, length: 10, data: make([]byte, 10)}
	for i := 0; i < 50; i++ {
		if i == 20 {
			rec.waits = 0 // the first frames follow an idle spell: sparse
		}
		_ = c.onData(frame) // stream 1 is unknown: dropped or refused after the note
	}
	if rec.waits != 0 {
		t.Errorf("%d short waits for DATA frames back to back, want 0", rec.waits)
	}
	for i := 0; i < 12; i++ {
		time.Sleep(4 * sparseGap)
		_ = c.onData(frame)
	}
	if rec.waits == 0 {
		t.Errorf("no short wait for DATA frames %v apart", 4*sparseGap)
	}
}
