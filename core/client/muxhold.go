package client

import (
	"encoding/binary"
	"time"

	"github.com/skiffrpc/skiff/core/conn"
)

// Write coalescing on a multiplexed connection.
//
// One read wake-up of a multiplexed connection often delivers many
// replies; the callers it wakes usually send their next requests soon
// after. Written one by one, each request costs a syscall. So the reader
// makes each caller it hands a reply to owe the connection a settle, and
// while callers owe, requests are queued without being written. When the
// last of them has taken its reply and the reader has handled all the
// input of its wake-up, the queued requests go out in one write. A caller
// that takes long must not hold up the others: the hold ends as well once
// muxHoldGap passes with nobody owing or settling, and after muxHoldMaxGaps
// gaps at the latest. Nothing yields to the scheduler, so this works the
// same on Netpoll (whose poller can keep a lone P in epoll_wait while a
// yielded goroutine waits) and on the std engine.
//
// A hold starts only when the wake-up likely brings muxHoldMin replies or
// more (holdWorth); with fewer, each caller's request goes out as it is
// sent. Holding small waves kept client and server in lockstep: each side
// waited for the other's whole wave, and both were idle most of the time.
// Pinned at c=10 (one connection, TTHeader), the default client ran at
// 45k QPS with both sides about a third busy, against 124k for the pooled
// client; without holds for small waves (and without the server's reply
// batches for them, core/server's batchMin), 105k to 110k. At c=100,
// where waves are large, QPS stayed within 2 % (medians of 5).

const (
	muxHoldMin     = 16 // replies a wake-up must likely bring to start a hold
	muxHoldGap     = 50 * time.Microsecond
	muxHoldMaxGaps = 20
)

// A hold queues at most limit bytes of requests (muxHold.limit): half of
// what the reader had buffered when the hold started, at least
// muxHoldMinBytes and at most muxHoldMaxBytes. Past it, the request that
// crosses it is written with those before it, while the other callers of
// the wave are still taking their replies. Holding a whole wave kept the
// server idle until the wave's end, then the client while the server
// answered it; pinned c=100 TTHeader (with the server's early writes,
// core/server's earlyReplyBytes), 255k -> 310k QPS, p99 1.1 -> 1.0 ms.
// A limit of 16 KB at any size of wave made more writes than it saved at
// c=1000, where the client's CPU is the bound (-10 %); half the wave keeps
// c=1000 as it was.
const (
	muxHoldMinBytes = 16 << 10
	muxHoldMaxBytes = 256 << 10
)

// holdLimit returns the bytes of requests a hold that starts with
// buffered bytes in the reader may queue.
func holdLimit(buffered int) int {
	return min(max(buffered/2, muxHoldMinBytes), muxHoldMaxBytes)
}

// muxHold is the coalescing state of a muxConn, guarded by its mu.
type muxHold struct {
	on    bool        // requests are queued, not written
	open  bool        // the reader has not drained its wake-up yet
	owed  int         // callers of this hold that have not settled
	gen   uint32      // numbers holds; a call's oweGen names its hold
	ticks uint32      // counts owes and settles
	seen  uint32      // ticks when the timer last ran
	gaps  int         // times the timer ran during this hold
	timer *time.Timer // checks the hold every muxHoldGap
	limit int         // bytes of requests the hold may queue
}

// oweLocked makes call, whose reply the reader is about to deliver, owe a
// settle; mc.mu is held. buffered is what the reader holds after the
// reply: at the start of a hold it sets the hold's limit.
func (mc *muxConn) oweLocked(call *muxCall, buffered int) {
	h := &mc.hold
	if !h.on {
		h.limit = holdLimit(buffered)
		h.on = true
		h.gen++
		if h.gen == 0 {
			h.gen = 1
		}
		h.gaps, h.seen = 0, h.ticks
		if mc.sw != nil {
			mc.sw.ShortWait() // the timer below must fire on time
		}
		if h.timer == nil {
			h.timer = time.AfterFunc(muxHoldGap, mc.holdTick)
		} else {
			h.timer.Reset(muxHoldGap)
		}
	}
	h.ticks++
	h.open = true
	h.owed++
	call.oweGen = h.gen
}

// sparseSends: while a multiplexed connection's requests are sent this
// long apart on average, each call announces a short wait to the engine
// as it starts waiting (conn.ShortWaiter), for the reason lowWaiters
// gives: with calls this sparse, nothing else ends a stall of the poller
// in epoll_wait. (A count of calls waiting does not tell it here: at c=10
// a connection often has only one call pending between waves, and a fast
// waker there cost a third of the QPS.)
const sparseSends = 70 * time.Microsecond

// holdWorth reports whether a read wake-up whose first reply (of size
// bytes) leaves buffered bytes in the reader likely holds muxHoldMin
// replies or more.
func holdWorth(buffered, size int) bool {
	return size > 0 && buffered >= (muxHoldMin-1)*size
}

// heldLocked reports whether a request queued now waits for the hold.
func (mc *muxConn) heldLocked() bool {
	return mc.hold.on && mc.out.MallocLen() < mc.hold.limit
}

// releaseLocked ends the hold and reports whether the caller must flush
// (it then owns the flush: flushing is set).
func (mc *muxConn) releaseLocked() bool {
	h := &mc.hold
	h.on, h.open, h.owed = false, false, 0
	h.gen++
	if h.gen == 0 {
		h.gen = 1
	}
	if h.timer != nil {
		h.timer.Stop()
	}
	if mc.flushing || mc.err != nil || mc.out.MallocLen() == 0 {
		return false
	}
	mc.flushing = true
	return true
}

// settle records that call has taken its reply; the last caller of a hold
// writes the queued requests.
func (mc *muxConn) settle(call *muxCall) {
	mc.mu.Lock()
	h := &mc.hold
	flush := false
	if call.oweGen != 0 {
		if call.oweGen == h.gen && h.on {
			h.ticks++
			h.owed--
			if h.owed == 0 && !h.open {
				flush = mc.releaseLocked()
			}
		}
		call.oweGen = 0
	}
	mc.mu.Unlock()
	if flush {
		_ = mc.flush()
	}
}

// readDrained tells the hold the reader has handled its wake-up's input.
// When that ends the hold, the queue is written by a new goroutine: the
// reader never writes, so it never stops delivering replies while a
// write waits for a peer that is itself busy writing.
func (mc *muxConn) readDrained() {
	mc.mu.Lock()
	h := &mc.hold
	h.open = false
	flush := h.on && h.owed == 0 && mc.releaseLocked()
	mc.mu.Unlock()
	if flush {
		go mc.flush() //nolint:errcheck // a failed flush fails the connection
	}
}

// holdTick runs every muxHoldGap during a hold and ends it once quiet.
func (mc *muxConn) holdTick() {
	mc.mu.Lock()
	h := &mc.hold
	flush := false
	if h.on && h.ticks != h.seen && h.gaps < muxHoldMaxGaps {
		h.seen = h.ticks
		h.gaps++
		if mc.sw != nil {
			mc.sw.ShortWait()
		}
		h.timer.Reset(muxHoldGap)
	} else if h.on {
		flush = mc.releaseLocked()
	}
	mc.mu.Unlock()
	if flush {
		_ = mc.flush()
	}
}

// nextFrameWaits reports whether reading the next length-prefixed frame
// (Framed, TTHeader: a 4-byte big-endian size first) would wait for the
// network.
func nextFrameWaits(r conn.Reader) bool {
	n := r.Len()
	if n < 4 {
		return true
	}
	b, err := r.Peek(4)
	if err != nil {
		return true
	}
	return uint64(n) < 4+uint64(binary.BigEndian.Uint32(b))
}
