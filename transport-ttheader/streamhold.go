package ttheader

import (
	"encoding/binary"
	"time"

	"github.com/skiffrpc/skiff/core/conn"
)

// Write coalescing on a ttstream connection.
//
// One read wake-up often feeds many streams: a server reads a batch of
// messages for its handlers, a client a batch of replies. The goroutines
// it wakes usually send soon after, and written one by one each frame
// costs a system call. So when the reader hands a frame to a stream, the
// stream "owes" the connection a settle, and while streams owe, frames are
// queued without being written. A stream settles when its goroutine has
// queued frames of its own, waits to read more, or its stream ended; when
// the last one settles and the reader has handled all the input of its
// wake-up, the queue goes out in one write. A goroutine that takes long
// must not hold up the others: the hold also ends once streamHoldGap
// passes with nobody owing or settling, and after streamHoldMaxGaps gaps
// at the latest. Nothing yields to the scheduler (runtime.Gosched), so
// this works the same on Netpoll, whose poller can keep a lone P in
// epoll_wait while a yielded goroutine waits, and on the std engine.

const (
	streamHoldGap      = 50 * time.Microsecond
	streamHoldMaxGaps  = 20
	streamHoldMaxBytes = 256 << 10
)

// writeHold is a tconn's coalescing state, guarded by its wmu.
type writeHold struct {
	on    bool        // frames are queued, not written
	open  bool        // the reader has not drained its wake-up yet
	owed  int         // streams of this hold that have not settled
	gen   uint32      // numbers holds; a stream's oweGen names its hold
	ticks uint32      // counts owes and settles
	seen  uint32      // ticks when the timer last ran
	gaps  int         // times the timer ran during this hold
	timer *time.Timer // checks the hold every streamHoldGap
}

// owe makes s owe a settle before the reader hands it a frame.
func (c *tconn) owe(s *tstream) {
	if s.oweGen.Load() != 0 {
		return
	}
	c.wmu.Lock()
	h := &c.hold
	if !h.on {
		h.on = true
		h.gen++
		if h.gen == 0 {
			h.gen = 1
		}
		h.gaps, h.seen = 0, h.ticks
		if h.timer == nil {
			h.timer = time.AfterFunc(streamHoldGap, c.holdTick)
		} else {
			h.timer.Reset(streamHoldGap)
		}
	}
	h.ticks++
	h.open = true
	h.owed++
	s.oweGen.Store(h.gen)
	c.wmu.Unlock()
}

// heldLocked reports whether queued frames wait for the hold to end.
func (c *tconn) heldLocked() bool {
	return c.hold.on && len(c.wbuf) < streamHoldMaxBytes
}

// releaseLocked ends the hold; streams still owing no longer count.
func (c *tconn) releaseLocked() {
	h := &c.hold
	h.on, h.open, h.owed = false, false, 0
	h.gen++
	if h.gen == 0 {
		h.gen = 1
	}
	if h.timer != nil {
		h.timer.Stop()
	}
}

// settleLocked records that s no longer owes a settle and reports whether
// that ended the hold (the caller then writes the queue); wmu is held.
func (c *tconn) settleLocked(s *tstream) bool {
	gen := s.oweGen.Load()
	if gen == 0 {
		return false
	}
	s.oweGen.Store(0)
	h := &c.hold
	if gen != h.gen || !h.on {
		return false
	}
	h.ticks++
	h.owed--
	if h.owed > 0 || h.open {
		return false
	}
	c.releaseLocked()
	return true
}

// settle is settleLocked for a goroutine without wmu: the last to settle
// writes the queue.
func (c *tconn) settle(s *tstream) {
	if s.oweGen.Load() == 0 {
		return
	}
	c.wmu.Lock()
	if c.settleLocked(s) && len(c.wbuf) > 0 && !c.wbusy {
		c.flushLocked()
		return
	}
	c.wmu.Unlock()
}

// readDrained tells the hold the reader has handled its wake-up's input.
// When that ends the hold, a new goroutine writes the queue: the reader
// does not become the connection's writer under load.
func (c *tconn) readDrained() {
	c.wmu.Lock()
	h := &c.hold
	h.open = false
	if h.on && h.owed == 0 {
		c.releaseLocked()
		if len(c.wbuf) > 0 && !c.wbusy {
			c.wbusy = true // taken by the goroutine, so no one else starts a flush
			go func() {
				c.wmu.Lock()
				c.wbusy = false
				c.flushLocked()
			}()
		}
	}
	c.wmu.Unlock()
}

// holdTick runs every streamHoldGap during a hold and ends it once quiet.
func (c *tconn) holdTick() {
	c.wmu.Lock()
	h := &c.hold
	if h.on && h.ticks != h.seen && h.gaps < streamHoldMaxGaps {
		h.seen = h.ticks
		h.gaps++
		h.timer.Reset(streamHoldGap)
	} else if h.on {
		c.releaseLocked()
		if len(c.wbuf) > 0 && !c.wbusy {
			c.flushLocked()
			return
		}
	}
	c.wmu.Unlock()
}

// nextFrameWaits reports whether reading the next frame (a 4-byte
// big-endian size first) would wait for the network.
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
