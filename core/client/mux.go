package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/internal/membuf"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
)

// muxPool multiplexes calls over a few shared connections per address:
// callers append encoded requests to a connection's pending bytes, one of
// them flushes everything pending in one write, and a reader goroutine per
// connection matches replies to callers by sequence id. Under concurrency
// this turns many small writes and reads into few large ones.
type muxPool struct {
	c    *Client
	size int
	mu   sync.Mutex
	// addrs holds size slots per address; a slot's mutex serialises dialing
	// so concurrent first calls share one connection.
	addrs   map[string]*muxSlots
	retired []*muxConn // replaced connections, possibly still draining
	wg      sync.WaitGroup
	shut    bool
}

type muxSlots struct {
	next  atomic.Uint32
	slots []muxSlot
}

type muxSlot struct {
	mu sync.Mutex
	mc *muxConn
}

type muxConn struct {
	p    *muxPool
	conn engine.Conn
	sw   conn.ShortWaiter // conn's, when its engine must be told of a hold; nil otherwise

	mu       sync.Mutex
	pending  map[int32]*muxCall
	out      membuf.Writer // encoded requests not yet flushed
	spare    []byte
	flushing bool
	retired  bool  // the server asked for no new calls on this connection
	err      error // set once the connection failed; it is then closed
	lastSend time.Time
	sends    conn.Sparse // the requests sent (see sparseSends)
	hold     muxHold     // write coalescing (muxhold.go)
}

// muxCall is one caller waiting for its reply. Pooled.
type muxCall struct {
	ctx    context.Context
	method string
	resp   any
	err    error
	size   int // bytes of the reply on the wire
	done   chan struct{}
	timer  *time.Timer
	oweGen uint32 // the hold this call owes a settle to (muxhold.go); guarded by muxConn.mu
}

var muxCalls = sync.Pool{New: func() any { return &muxCall{done: make(chan struct{}, 1)} }}

func newMuxPool(c *Client, size int) *muxPool {
	if size <= 0 {
		size = 2
	}
	return &muxPool{c: c, size: size, addrs: map[string]*muxSlots{}}
}

// adopt makes conn, a connection to addr whose server just said it takes
// calls out of order, the connection of addr's first empty slot. It
// reports false (conn untouched) when every slot is taken or the pool is
// closed.
func (p *muxPool) adopt(addr string, conn engine.Conn) bool {
	p.mu.Lock()
	if p.shut {
		p.mu.Unlock()
		return false
	}
	ss := p.addrs[addr]
	if ss == nil {
		ss = &muxSlots{slots: make([]muxSlot, p.size)}
		p.addrs[addr] = ss
	}
	p.mu.Unlock()
	for i := range ss.slots {
		slot := &ss.slots[i]
		slot.mu.Lock()
		if slot.mc == nil {
			mc := newMuxConn(p, conn)
			p.mu.Lock()
			if p.shut {
				p.mu.Unlock()
				slot.mu.Unlock()
				return false
			}
			p.wg.Add(1)
			p.mu.Unlock()
			slot.mc = mc
			slot.mu.Unlock()
			go mc.readLoop()
			return true
		}
		slot.mu.Unlock()
	}
	return false
}

// newMuxConn returns the multiplexed state of c, a connection of p.
func newMuxConn(p *muxPool, c engine.Conn) *muxConn {
	sw, _ := c.(conn.ShortWaiter)
	return &muxConn{p: p, conn: c, sw: sw, pending: map[int32]*muxCall{}}
}

// get returns a live connection to addr, dialing if the slot is empty or
// its connection failed.
func (p *muxPool) get(addr string, timeout time.Duration) (*muxConn, error) {
	p.mu.Lock()
	if p.shut {
		p.mu.Unlock()
		return nil, status.New(status.Canceled, "client closed")
	}
	ss := p.addrs[addr]
	if ss == nil {
		ss = &muxSlots{slots: make([]muxSlot, p.size)}
		p.addrs[addr] = ss
	}
	p.mu.Unlock()
	slot := &ss.slots[int(ss.next.Add(1))%len(ss.slots)]
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if mc := slot.mc; mc != nil && mc.alive() {
		if !mc.quiet() || !engine.PeerClosed(mc.conn) {
			return mc, nil
		}
		// Closed by the server while idle: retire it. A caller that
		// queues on it from now on is told nothing was sent; one already
		// waiting keeps its connection until its reply or the failure.
		mc.retire(status.Wrap(status.ErrUnsent, "connection closed by the server while idle", nil))
	}
	conn, err := p.c.opts.engine.Dial(network(addr), addr, timeout) // a tlsEngine with WithTLSConfig
	if err != nil {
		return nil, err
	}
	mc := newMuxConn(p, conn)
	p.mu.Lock()
	if p.shut {
		p.mu.Unlock()
		_ = conn.Close()
		return nil, status.New(status.Canceled, "client closed")
	}
	p.wg.Add(1)
	p.mu.Unlock()
	if old := slot.mc; old != nil && old.failed() == nil {
		// A retired connection still draining: close it with the pool.
		p.mu.Lock()
		kept := p.retired[:0]
		for _, r := range p.retired {
			if r.failed() == nil {
				kept = append(kept, r)
			}
		}
		p.retired = append(kept, old)
		p.mu.Unlock()
	}
	slot.mc = mc
	go mc.readLoop()
	return mc, nil
}

// closeAddr retires the connections to addr, an instance that left: idle
// ones close now, busy ones when their last reply arrives (no new call is
// queued on them). The slots stay registered, so a connection a racing
// call dials for addr is still closed with the pool.
func (p *muxPool) closeAddr(addr string) {
	p.mu.Lock()
	ss := p.addrs[addr]
	p.mu.Unlock()
	if ss == nil {
		return
	}
	for i := range ss.slots {
		slot := &ss.slots[i]
		slot.mu.Lock()
		mc := slot.mc
		slot.mc = nil
		slot.mu.Unlock()
		if mc != nil && !mc.retire(status.Wrap(status.ErrUnsent, "instance "+addr+" left", nil)) {
			p.mu.Lock()
			p.retired = append(p.retired, mc)
			p.mu.Unlock()
		}
	}
}

// retire stops new calls on the connection. With no call waiting it closes
// the connection (new sends fail with err, a kind of unsent) and reports
// true; otherwise the read loop closes it after the last reply.
func (mc *muxConn) retire(err error) bool {
	mc.mu.Lock()
	mc.retired = true
	if len(mc.pending) > 0 || mc.flushing || mc.err != nil {
		closed := mc.err != nil
		mc.mu.Unlock()
		return closed
	}
	mc.err = err
	mc.mu.Unlock()
	_ = mc.conn.Close()
	return true
}

func (p *muxPool) close() {
	p.mu.Lock()
	p.shut = true
	all := append([]*muxConn(nil), p.retired...)
	addrs := make([]*muxSlots, 0, len(p.addrs))
	for _, ss := range p.addrs {
		addrs = append(addrs, ss)
	}
	p.mu.Unlock()
	// Slots are locked without p.mu: get and adopt hold a slot's lock
	// while they take p.mu. A slot filled after shut was set closes its
	// own connection.
	for _, ss := range addrs {
		for i := range ss.slots {
			ss.slots[i].mu.Lock()
			if mc := ss.slots[i].mc; mc != nil {
				all = append(all, mc)
			}
			ss.slots[i].mu.Unlock()
		}
	}
	for _, mc := range all {
		mc.fail(status.New(status.Canceled, "client closed"))
	}
	p.wg.Wait()
}

func (mc *muxConn) failed() error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.err
}

// quiet reports whether the connection has no call waiting and has sent
// nothing for probeIdle: then the pool probes it before use.
func (mc *muxConn) quiet() bool {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return len(mc.pending) == 0 && time.Since(mc.lastSend) >= probeIdle
}

func (mc *muxConn) alive() bool {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.err == nil && !mc.retired
}

// fail closes the connection and wakes every waiting caller with err.
func (mc *muxConn) fail(err error) {
	mc.mu.Lock()
	if mc.err != nil {
		mc.mu.Unlock()
		return
	}
	mc.err = err
	mc.releaseLocked()
	calls := mc.pending
	mc.pending = map[int32]*muxCall{}
	mc.mu.Unlock()
	_ = mc.conn.Close()
	for _, call := range calls {
		call.err = err
		call.done <- struct{}{}
	}
}

// send queues msg (and registers call under its sequence id unless it is
// nil), then flushes unless another caller is already flushing; that
// caller will write these bytes too. It returns the request's size on the
// wire.
func (mc *muxConn) send(msg *codec.Message, call *muxCall) (int, error) {
	c := mc.p.c
	mc.mu.Lock()
	if mc.err != nil || mc.retired {
		err := mc.err
		mc.mu.Unlock()
		// Nothing of this request was queued on the failed or retired
		// connection.
		return 0, status.Wrap(status.ErrUnsent, "connection to "+mc.conn.RemoteAddr().String()+" failed or retired before the request was queued", err)
	}
	before := mc.out.MallocLen()
	if err := c.proto.WriteMessage(&mc.out, msg, c.codec); err != nil {
		mc.out.Truncate(before)
		mc.mu.Unlock()
		return 0, err
	}
	size := mc.out.MallocLen() - before
	if call != nil {
		mc.pending[msg.SeqID] = call
	}
	now := time.Now()
	mc.lastSend = now
	if mc.sends.Note(now, sparseSends) && call != nil && mc.sw != nil {
		mc.sw.ShortWait() // see sparseSends
	}
	if mc.flushing || mc.heldLocked() {
		// The flushing caller, or the end of the hold, writes it.
		mc.mu.Unlock()
		return size, nil
	}
	mc.flushing = true
	mc.mu.Unlock()
	return size, mc.flush()
}

// flush writes pending bytes until there are none; only one caller runs
// it at a time.
func (mc *muxConn) flush() error {
	w := mc.conn.Writer()
	for {
		mc.mu.Lock()
		if mc.out.MallocLen() == 0 || mc.err != nil {
			mc.flushing = false
			mc.mu.Unlock()
			return nil
		}
		batch := mc.out.Swap(mc.spare)
		mc.mu.Unlock()
		buf, err := w.Malloc(len(batch))
		if err == nil {
			copy(buf, batch)
			err = w.Flush()
		}
		mc.mu.Lock()
		mc.spare = batch[:0]
		mc.mu.Unlock()
		if err != nil {
			mc.mu.Lock()
			mc.flushing = false
			first := mc.err
			mc.mu.Unlock()
			if first != nil {
				// The read loop failed the connection (and closed it under
				// this write) first: its error names the cause, such as
				// the TLS alert of a server that refused the certificate.
				return first
			}
			// Part of the batch may have reached the server.
			err = status.Wrap(status.ErrConnLost, "send to "+mc.conn.RemoteAddr().String(), err)
			mc.fail(err)
			return err
		}
	}
}

// readLoop delivers replies to their callers until the connection fails.
func (mc *muxConn) readLoop() {
	defer mc.p.wg.Done()
	c := mc.p.c
	r := mc.conn.Reader()
	msg := &codec.Message{}
	owed := false // callers were handed replies since the input last drained
	for {
		payload, err := c.proto.ReadMessage(r, msg, c.opts.maxFrame)
		if err != nil {
			mc.fail(status.Wrap(status.ErrConnLost, "read replies", err))
			return
		}
		n, err := codec.Envelope(c.codec, payload, msg)
		if err != nil {
			mc.fail(err)
			return
		}
		mc.mu.Lock()
		call := mc.pending[msg.SeqID]
		delete(mc.pending, msg.SeqID)
		if call != nil && (mc.hold.on || holdWorth(r.Len(), msg.Size)) {
			mc.oweLocked(call, r.Len()) // its caller may send again soon (muxhold.go)
			owed = true
		}
		if msg.ConnReset {
			mc.retired = true // the server is shutting down: no new calls here
		}
		drained := mc.retired && len(mc.pending) == 0 && !mc.flushing
		flushHeld := drained && mc.hold.on && mc.releaseLocked() // queued oneway requests go out first
		mc.mu.Unlock()
		if call != nil {
			call.size = msg.Size
			call.err = mc.decode(payload[n:], msg, call)
			call.done <- struct{}{}
		}
		_ = r.Release()
		if drained {
			if flushHeld {
				_ = mc.flush()
			}
			mc.fail(status.Wrap(status.ErrUnsent, "retired connection drained", nil))
			return
		}
		if owed && nextFrameWaits(r) {
			owed = false
			mc.readDrained()
		}
		msg.Reset()
	}
}

func (mc *muxConn) decode(body []byte, msg *codec.Message, call *muxCall) error {
	c := mc.p.c
	if msg.Method != call.method {
		return status.Protocolf("wrong method name in reply: got %q, want %q", msg.Method, call.method).WithTypeID(status.TypeWrongMethodName)
	}
	switch msg.Type {
	case codec.Reply:
		msg.Payload = call.resp
	case codec.Exception:
		msg.Payload = nil
	default:
		return status.Protocolf("invalid message type %s in reply to %s", msg.Type, call.method).WithTypeID(status.TypeInvalidMessageType)
	}
	if err := c.codec.DecodePayload(body, msg); err != nil {
		return err
	}
	if msg.Err != nil {
		return msg.Err
	}
	if c.meta != nil {
		return c.meta.ClientReadMeta(call.ctx, msg)
	}
	return nil
}

// muxRoundTrip is roundTrip for multiplexed connections.
func (c *Client) muxRoundTrip(p *muxPool, ctx context.Context, ci *callinfo.Info, at *callinfo.Attempt, deadline time.Time, ct time.Duration, req, resp any) error {
	at.Stats.Record(stats.ClientConnStart)
	mc, err := p.get(at.Address, ct)
	at.Stats.Record(stats.ClientConnFinish)
	if err != nil {
		return status.Wrap(status.ErrConnect, "connect to "+at.Address, err)
	}
	at.RemoteAddr = mc.conn.RemoteAddr()
	msg := messages.Get().(*codec.Message)
	defer func() {
		msg.Reset()
		messages.Put(msg)
	}()
	msg.Type = codec.Call
	if ci.Oneway {
		msg.Type = codec.Oneway
	}
	msg.SeqID = c.seq.Add(1)
	msg.Service, msg.Method, msg.Payload = ci.Service, ci.Method, req
	msg.OutOfOrder = true // TTHeader: a Skiff server may answer in any order
	at.SeqID = msg.SeqID

	var call *muxCall
	if !ci.Oneway {
		call = muxCalls.Get().(*muxCall)
		call.ctx, call.method, call.resp, call.err = ctx, ci.Method, resp, nil
	}
	if c.meta != nil {
		c.meta.ClientWriteMeta(ctx, msg)
	}
	at.Stats.Record(stats.WriteStart)
	at.Stats.SendSize, err = mc.send(msg, call)
	at.Stats.Record(stats.WriteFinish)
	if err == nil {
		at.ReleaseRequest() // encoded into the connection's buffer: not read again
	}
	if call == nil || err != nil {
		if call != nil && mc.forget(msg.SeqID) {
			muxCalls.Put(call)
		}
		// send's errors already say what happened: unsent (the connection
		// had failed or was retired), lost (a flush failed) or the
		// request's own encoding error.
		return encodeError(err)
	}
	at.Stats.Record(stats.ReadStart)
	defer at.Stats.Record(stats.ReadFinish)
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if call.timer == nil {
			call.timer = time.NewTimer(d)
		} else {
			call.timer.Reset(d)
		}
		timeout = call.timer.C
	}
	select {
	case <-call.done:
		if call.timer != nil {
			call.timer.Stop()
		}
		mc.settle(call)
		err := call.err
		at.Stats.RecvSize = call.size
		call.ctx, call.resp, call.err = nil, nil, nil
		muxCalls.Put(call)
		return err
	case <-timeout:
		err = status.Wrap(status.ErrTimeout, "rpc timeout: no reply to "+ci.Method+" from "+at.Address+" in time", nil)
	case <-ctx.Done():
		err = ctxError(ctx.Err())
	}
	if call.timer != nil {
		call.timer.Stop()
	}
	if !mc.forget(msg.SeqID) {
		// The reader already took the call: wait for it to finish with resp.
		<-call.done
		mc.settle(call)
	}
	call.ctx, call.resp, call.err = nil, nil, nil
	muxCalls.Put(call)
	return err
}

// forget removes a pending call and reports whether it was still pending
// (so nobody else will signal it).
func (mc *muxConn) forget(seq int32) bool {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if _, ok := mc.pending[seq]; ok {
		delete(mc.pending, seq)
		return true
	}
	return false
}

var _ transport.Writer = (*membuf.Writer)(nil)
