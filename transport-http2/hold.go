package h2transport

import "time"

// Write coalescing on a client connection over Netpoll.
//
// One read wake-up often feeds many streams at once: a batch of responses
// or stream messages. The callers it wakes each queue frames soon after
// (the next requests or messages of a caller that calls in a loop), and
// written one by one each costs a syscall. So when the frame reader hands
// data to a stream whose goroutine may write next (it "owes" a write), the
// connection holds its writes: frames are queued but not flushed until
// every stream the wake-up fed has settled (its goroutine queued frames of
// its own, waits to read more, or its stream ended) and the reader has
// drained its input. The last goroutine to settle writes the whole batch
// itself. A goroutine that does not settle soon must not hold up the
// others: the hold also ends when holdGap passes with no stream owing or
// settling, and at the latest after holdMaxGaps gaps.
//
// Where it applies: on a Netpoll client, holds cut the client's CPU per
// call by about a third in the pinned c=100 benchmark. Elsewhere the
// writer goroutine yields once before writing instead
// (conn.yieldBeforeWrite), which measured better: on the std engine, and
// on Netpoll servers since core's engine bounds how long Netpoll's poller
// can keep a lone P in epoll_wait while a yielded goroutine waits (the
// waker, core/engine, which holds and yields announce through
// conn.ShortWaiter; before it, such waits took 10 to 20 ms). Servers do
// not hold: a server batch that waits for its handlers left the server
// idle for ~40 % of the time in the same benchmark (the client's next
// batch waited for the whole reply batch).

const (
	// holdGap is the quiet time after which a hold ends: fast goroutines
	// settle well within it, one after the other.
	holdGap = 50 * time.Microsecond
	// holdMaxGaps bounds a hold that keeps seeing activity.
	holdMaxGaps = 20
	// holdMinBytes is what a read wake-up must have buffered behind the
	// frame that would start a hold: about 16 unary responses of 1 KB.
	// Holding smaller waves kept client and server in lockstep, each idle
	// while the other handled a whole wave.
	holdMinBytes = 16 << 10
	// A held batch is written once it has grown to half of what the
	// reader had buffered when the hold started (conn.holdLimit), at
	// least holdMinBytes and at most holdMaxBytes: the server starts on
	// the first half of a wave while the rest is made, instead of idling
	// for all of it (as core/client's muxhold.go measured for TTHeader).
	holdMaxBytes = 256 << 10
)

// oweLocked records that the goroutine serving s is expected to write
// soon, and holds the connection's writes until it has settled. The frame
// reader calls it; wmu is held.
func (c *conn) oweLocked(s *h2stream) {
	if s.oweGen.Load() != 0 {
		return
	}
	if !c.hold {
		c.hold = true
		c.holdGen++
		if c.holdGen == 0 {
			c.holdGen = 1
		}
		c.holdGaps, c.holdSeen = 0, c.holdTicks
		if c.shortWaiter != nil {
			c.shortWaiter.ShortWait() // the timer below must fire on time
		}
		if c.holdTimer == nil {
			c.holdTimer = time.AfterFunc(holdGap, c.holdExpired)
		} else {
			c.holdTimer.Reset(holdGap)
		}
	}
	c.holdTicks++
	c.holdOpen = true
	c.holdOwed++
	s.oweGen.Store(c.holdGen)
}

// owe is oweLocked for the frame reader, which does not hold wmu. A new
// hold starts only when the reader has holdMinBytes or more buffered
// behind the frame it handles (see holdMinBytes).
func (c *conn) owe(s *h2stream) {
	if s.oweGen.Load() != 0 {
		return
	}
	c.wmu.Lock()
	if !c.hold {
		n := c.rd.r.Len()
		if n < holdMinBytes {
			c.wmu.Unlock()
			return
		}
		c.holdLimit = min(max(n/2, holdMinBytes), holdMaxBytes)
	}
	c.oweLocked(s)
	c.wmu.Unlock()
	c.rdOwed = true
}

// readDrained tells the hold that the frame reader has handled all the
// input of its wake-up: once the owed streams settle, the batch goes out.
func (c *conn) readDrained() {
	c.rdOwed = false
	c.wmu.Lock()
	c.holdOpen = false
	if c.hold && c.holdOwed == 0 {
		c.releaseLocked()
		if c.pendingLocked() > 0 {
			c.kickLocked()
		}
	}
	c.wmu.Unlock()
}

// settleLocked records that the goroutine serving s no longer owes a
// write: it queued its frames, waits to read, or its stream ended. It
// reports whether that ended the hold, in which case the caller writes
// what is queued. wmu is held.
func (c *conn) settleLocked(s *h2stream) bool {
	gen := s.oweGen.Load()
	if gen == 0 {
		return false
	}
	s.oweGen.Store(0)
	if gen != c.holdGen || !c.hold {
		return false
	}
	c.holdTicks++
	c.holdOwed--
	if c.holdOwed > 0 || c.holdOpen {
		return false
	}
	c.releaseLocked()
	return true
}

// settle is settleLocked for a goroutine without wmu. The last to settle
// writes the held batch: itself when inline (an application goroutine,
// which may block on the socket), else through the writer goroutine (the
// frame reader, timers).
func (c *conn) settle(s *h2stream, inline bool) {
	if s.oweGen.Load() == 0 {
		return
	}
	c.wmu.Lock()
	if c.settleLocked(s) && c.pendingLocked() > 0 && c.werr == nil && !c.isClosed() {
		if inline {
			c.writeNowLocked()
		} else {
			c.kickLocked()
		}
	}
	c.wmu.Unlock()
}

// writeNowLocked writes wbuf from the calling goroutine unless a write is
// in progress (or the writer must do it); wmu is held.
func (c *conn) writeNowLocked() {
	if !c.wactive && c.writerUp && !c.wclose {
		c.writeInlineLocked()
	} else {
		c.kickLocked()
	}
}

// holdExpired runs every holdGap during a hold: it ends a hold that saw
// no activity since the last run, or that has run holdMaxGaps times.
func (c *conn) holdExpired() {
	c.wmu.Lock()
	if c.hold && c.holdTicks != c.holdSeen && c.holdGaps < holdMaxGaps {
		c.holdSeen = c.holdTicks
		c.holdGaps++
		if c.shortWaiter != nil {
			c.shortWaiter.ShortWait()
		}
		c.holdTimer.Reset(holdGap)
	} else if c.hold {
		c.releaseLocked()
		if c.pendingLocked() > 0 {
			c.kickLocked()
		}
	}
	c.wmu.Unlock()
}

// releaseLocked ends the hold; streams still owing from it no longer
// count. The caller flushes or kicks the writer.
func (c *conn) releaseLocked() {
	c.hold = false
	c.holdOpen = false
	c.holdOwed = 0
	c.holdGen++
	if c.holdGen == 0 {
		c.holdGen = 1
	}
	if c.holdTimer != nil {
		c.holdTimer.Stop()
	}
}

// heldLocked reports whether queued frames wait for the hold to end.
func (c *conn) heldLocked() bool {
	return c.hold && c.pendingLocked() < c.holdLimit && !c.wclose && c.werr == nil
}
