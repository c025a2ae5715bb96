package h2transport

import (
	"log/slog"
	"net"
	"sync/atomic"
	"time"
)

// DefaultStreamMemory is the default budget of a [Protocol]'s server
// streams (see [WithStreamMemory]): 256 MiB.
//
// Why: one connection may hold at most its stream limit
// ([DefaultMaxConcurrentStreams], 1,000) of streams, some 32 MiB of state
// and goroutines, and buffer at most its connection window of request
// data its handlers have not read (1 MiB at first, at most
// [MaxConnWindow], 16 MiB, once the measured bandwidth-delay product
// raised it: data waiting unread keeps its connection credit), some 50 MiB
// in all; 256 MiB lets several such connections fill up before new
// streams are refused, far more than healthy clients hold, and keeps a
// flood of stalled streams from many connections from taking a server
// with a few GiB of memory down.
const DefaultStreamMemory = 256 << 20

const (
	// streamOverhead is what an open server stream is charged besides its
	// buffers: its state, its handler goroutine's stack, its header
	// fields and its codec's state. Measured (tests/hostile): 1,000
	// stalled gRPC streams took some 40 MiB of RSS, of which their
	// transport buffers were about 8 MiB.
	streamOverhead = 32 << 10
	// maxHeldRequest caps what a stream is charged for request bytes its
	// handler has read and not answered yet: a codec assembles at most
	// one message at a time (gRPC's default maximum: 4 MiB).
	maxHeldRequest = 4 << 20
	// budgetShare is the part of the budget (1/budgetShare) beyond which a
	// connection is refused new streams once the budget is spent.
	budgetShare = 16
)

// MemoryStats reports a Protocol's server stream budget ([WithStreamMemory]).
type MemoryStats struct {
	// Budget is the bound, in bytes; 0 means none.
	Budget int64
	// InUse is what the open server streams are charged now, in bytes.
	InUse int64
	// Refused counts the streams refused (REFUSED_STREAM) because the
	// budget was spent.
	Refused int64
}

// MemoryStats returns the state of p's stream memory budget, across every
// server connection p serves.
func (p *Protocol) MemoryStats() MemoryStats {
	b := p.opts.budget
	if b == nil {
		return MemoryStats{}
	}
	return MemoryStats{Budget: b.limit, InUse: b.used.Load(), Refused: b.refused.Load()}
}

// memBudget is the stream memory budget shared by the server connections
// of one Protocol.
type memBudget struct {
	limit   int64
	used    atomic.Int64
	refused atomic.Int64
	lastLog atomic.Int64 // unix nanoseconds of the last warning
}

// refuses reports whether a new stream must be refused on a connection
// whose streams are charged held bytes: once the budget is spent, on
// connections holding more than their share; once twice the budget is,
// on every connection. (Streams admitted before the budget was spent go
// on charging what they buffer, so the memory charged can pass the budget
// by a part: the margin keeps the connections that hold little served
// meanwhile.)
func (b *memBudget) refuses(held int64) bool {
	used := b.used.Load() + streamOverhead
	if used <= b.limit {
		return false
	}
	return used > 2*b.limit || held >= b.limit/budgetShare
}

// noteRefused counts a refused stream and logs a warning, at most once a
// second.
func (b *memBudget) noteRefused(log *slog.Logger, remote net.Addr) {
	n := b.refused.Add(1)
	now := time.Now().UnixNano()
	if last := b.lastLog.Load(); now-last >= int64(time.Second) && b.lastLog.CompareAndSwap(last, now) {
		log.Warn("h2transport: stream memory budget spent, refusing new streams (WithStreamMemory)",
			"budget", b.limit, "in_use", b.used.Load(), "refused_total", n, "remote", remote)
	}
}

// charge adds d bytes (negative: gives them back) to what the stream, its
// connection and the budget hold. It does nothing on streams outside a
// budget (client streams, servers without one).
func (c *conn) charge(d int64) {
	if c.budget == nil || d == 0 {
		return
	}
	c.charged.Add(d)
	c.budget.used.Add(d)
}

// chargeLocked charges d bytes to s (see conn.charge); s.mu is held. A
// settled stream (its handler ended) is not charged any more.
func (s *h2stream) chargeLocked(d int64) {
	if s.c.budget == nil || s.settled {
		return
	}
	s.charged += d
	s.c.charge(d)
}

// answered gives back the charge for the request bytes the handler read
// before it began to answer: from now on the stream streams.
func (s *h2stream) answered() {
	if s.c.budget == nil || s.wresponded {
		return
	}
	s.wresponded = true
	s.mu.Lock()
	s.responded = true
	s.chargeLocked(-s.reqHeld)
	s.reqHeld = 0
	s.mu.Unlock()
}

// refund runs when the handler of a server stream ended: what is still
// buffered for reading is dropped (its connection window goes back), and
// everything the stream was charged goes back to the budget.
func (s *h2stream) refund() {
	s.mu.Lock()
	var dropped int64
	if s.rbuf != nil {
		if !s.flowDone {
			dropped = int64(len(s.rbuf) - s.roff)
		}
		if !s.lent {
			putBuf(s.rhold, s.rbuf) // a lent buffer is left to the collector
		}
		s.rbuf, s.rhold, s.roff = nil, nil, 0
	}
	s.flowDone = true
	var d int64
	if s.c.budget != nil {
		s.settled = true
		d = s.charged + s.wcharged + streamOverhead
		s.charged, s.wcharged = 0, 0
	}
	s.mu.Unlock()
	s.c.charge(-d)
	if dropped > 0 {
		s.c.consumed(dropped, false)
	}
}
