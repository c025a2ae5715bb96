package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skiffrpc/skiff/core/conn"
)

// Std is the engine built on the standard net package, named "std". It
// runs on every platform Go supports, so it is the engine where Netpoll does
// not run (Windows), and it serves any net.Listener, including the TLS
// listeners of crypto/tls that Netpoll cannot take.
//
// Each connection has one goroutine on the server side, which blocks in
// reads; reads go through a growable per-connection buffer (filled in
// chunks of at least 4 KiB) and writes are gathered in a per-connection
// buffer that Flush sends with one Write call. Std is safe for concurrent
// use.
//
// The connections it makes have the [conn.NetConner] capability: NetConn
// returns the wrapped net.Conn (a *tls.Conn for a TLS listener, for example
// to read its ConnectionState).
var Std Engine = stdEngine{}

const (
	// stdMinRead is the smallest free space a blocking read is given.
	stdMinRead = 4 << 10
	// stdInitialBuffer is the size of a read buffer when it is first needed.
	stdInitialBuffer = 8 << 10
	// stdMaxRetained is the largest buffer a connection keeps once it is
	// empty; bigger ones (grown for a big message) are dropped so an idle
	// connection does not pin them.
	stdMaxRetained = 256 << 10
	// stdRoomFactor: a buffer that must make room for a read of more than
	// stdMinRead bytes grows, instead of compacting, until it holds
	// stdRoomFactor times that (or stdMaxRetained). Each compaction moves
	// the unread tail (a partly received message, up to want bytes), so
	// reading large messages through a small buffer moved a good part of
	// every message twice; and a larger buffer takes more per read call.
	stdRoomFactor = 4
)

// aLongTimeAgo is a read deadline in the past: it makes a blocked read
// return at once.
var aLongTimeAgo = time.Unix(1, 0)

// errShutdown is returned by a read that a server's Shutdown interrupted
// while the connection was waiting for a new request.
var errShutdown = fmt.Errorf("engine: read interrupted by server shutdown: %w", net.ErrClosed)

type stdEngine struct{}

var _ Engine = stdEngine{}

// Name returns "std".
func (stdEngine) Name() string { return "std" }

// NewServer returns a server for p. p.Handler is required; negative
// timeouts are rejected.
func (stdEngine) NewServer(p ServerParams) (Server, error) {
	if p.Handler == nil {
		return nil, errors.New("engine: ServerParams.Handler is nil")
	}
	if p.ReadTimeout < 0 || p.IdleTimeout < 0 {
		return nil, fmt.Errorf("engine: negative timeout (ReadTimeout %v, IdleTimeout %v)", p.ReadTimeout, p.IdleTimeout)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &stdServer{
		p:      p,
		ctx:    ctx,
		cancel: cancel,
		lns:    make(map[net.Listener]struct{}),
		conns:  make(map[*stdConn]struct{}),
		done:   make(chan struct{}),
	}, nil
}

// Dial connects with a net.Dialer; timeout 0 means no timeout beyond the
// operating system's. Errors are those of the net package.
func (stdEngine) Dial(network, address string, timeout time.Duration) (Conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.Dial(network, address)
	if err != nil {
		return nil, err
	}
	return newStdConn(nc), nil
}

// Listen returns net.Listen(network, address).
func (stdEngine) Listen(network, address string) (net.Listener, error) {
	return net.Listen(network, address)
}

// NewStdConn returns a [Conn] of the [Std] engine over nc, for connections
// made outside the engine (such as a client *tls.Conn). The Conn owns nc:
// closing it closes nc. nc must not be read or written directly afterwards.
func NewStdConn(nc net.Conn) Conn { return newStdConn(nc) }

// stdConn is a Conn over a net.Conn.
type stdConn struct {
	nc net.Conn
	r  stdReader
	w  stdWriter

	timeout atomic.Int64 // read timeout in nanoseconds; 0 means none
	until   atomic.Int64 // a request's read deadline (Unix ns) that replaces timeout; 0 means none
	closed  atomic.Bool
	broken  atomic.Bool // a read or write failed for good
	intr    atomic.Bool // a server Shutdown interrupted an idle read

	// Server state, guarded by mu.
	mu          sync.Mutex
	idle        bool // waiting for the first byte of a request, nothing buffered
	interrupted bool // intr was set while idle and not yet cleared
}

var (
	_ Conn           = (*stdConn)(nil)
	_ conn.NetConner = (*stdConn)(nil)
)

func newStdConn(nc net.Conn) *stdConn {
	c := &stdConn{nc: nc}
	c.r.c = c
	c.w.c = c
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn: // net.Buffers writes them with writev
		c.w.vectored = true
	}
	return c
}

// Reader returns the connection's read side.
func (c *stdConn) Reader() conn.Reader { return &c.r }

// Writer returns the connection's write side.
func (c *stdConn) Writer() conn.Writer { return &c.w }

// SetReadTimeout bounds each blocking read from now on; 0 means no bound.
// A blocking Next, Peek or Skip gets d in all to receive the bytes it
// waits for, however they trickle in.
func (c *stdConn) SetReadTimeout(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("engine: negative read timeout %v", d)
	}
	c.until.Store(0)
	c.timeout.Store(int64(d))
	return nil
}

// startRequest gives the request whose first bytes arrived d to arrive
// whole: every read until the next startRequest or SetReadTimeout shares
// one deadline, so a peer that sends a byte now and then (slowloris)
// cannot hold the connection past it. 0 means no bound.
func (c *stdConn) startRequest(d time.Duration) {
	if d <= 0 {
		_ = c.SetReadTimeout(0)
		return
	}
	c.timeout.Store(int64(d))
	c.until.Store(time.Now().Add(d).UnixNano())
}

// IsActive reports whether the connection is neither closed nor broken by
// a failed read (EOF included) or write. A read timeout does not make it
// inactive.
func (c *stdConn) IsActive() bool { return !c.closed.Load() && !c.broken.Load() }

// PeerClosed implements PeerCloseProber. It may run while another
// goroutine is blocked reading the connection; it does not look at what
// that reader has buffered.
func (c *stdConn) PeerClosed() bool {
	if !c.IsActive() {
		return true
	}
	nc := c.nc
	if u, ok := nc.(interface{ NetConn() net.Conn }); ok { // crypto/tls
		nc = u.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	return ok && peerClosedRaw(sc)
}

// Close closes the connection; later calls do nothing and return nil.
func (c *stdConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	return c.nc.Close()
}

// LocalAddr returns the local address.
func (c *stdConn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's address.
func (c *stdConn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// NetConn implements conn.NetConner: it returns the wrapped net.Conn.
func (c *stdConn) NetConn() net.Conn { return c.nc }

// interrupt makes a blocked or upcoming read fail with errShutdown. Any
// goroutine may call it.
func (c *stdConn) interrupt() {
	c.intr.Store(true)
	_ = c.nc.SetReadDeadline(aLongTimeAgo)
}

// clearInterrupt undoes interrupt; only the reading goroutine calls it.
func (c *stdConn) clearInterrupt() {
	c.intr.Store(false)
	_ = c.nc.SetReadDeadline(time.Time{})
	c.r.deadline, c.r.fixed = false, 0
}

// stdReader is the read side: buf[off:] is buffered and unread.
type stdReader struct {
	c        *stdConn
	buf      []byte
	off      int
	lent     bool  // slices of buf were returned since the last Release
	deadline bool  // a read deadline is set on the net.Conn
	fixed    int64 // the request deadline (stdConn.until) set on the net.Conn, 0 if none
	consumed int64 // bytes consumed by Next and Skip, ever
	err      error // sticky read error (EOF or a broken connection)
}

var (
	_ conn.Reader      = (*stdReader)(nil)
	_ conn.ReadAheader = (*stdReader)(nil)
)

// Next returns the next n bytes and advances past them.
func (r *stdReader) Next(n int) ([]byte, error) {
	if err := r.fill(n); err != nil {
		return nil, err
	}
	b := r.buf[r.off : r.off+n : r.off+n]
	r.off += n
	r.consumed += int64(n)
	r.lent = true
	return b, nil
}

// Peek returns the next n bytes without advancing.
func (r *stdReader) Peek(n int) ([]byte, error) {
	if err := r.fill(n); err != nil {
		return nil, err
	}
	r.lent = true
	return r.buf[r.off : r.off+n : r.off+n], nil
}

// Skip advances past n bytes, blocking until they are buffered.
func (r *stdReader) Skip(n int) error {
	if err := r.fill(n); err != nil {
		return err
	}
	r.off += n
	r.consumed += int64(n)
	return nil
}

// Release drops the consumed bytes. Slices returned earlier become invalid:
// their memory is reused by later reads.
func (r *stdReader) Release() error {
	r.lent = false
	if u := r.c.until.Load(); u != 0 {
		// A request was read whole: the next one, whose bytes may already
		// be here, gets a deadline of its own.
		r.c.until.Store(time.Now().Add(time.Duration(r.c.timeout.Load())).UnixNano())
	}
	if r.off == len(r.buf) {
		// Everything was consumed: start over at the front for free.
		if cap(r.buf) > stdMaxRetained {
			r.buf = nil
		} else {
			r.buf = r.buf[:0]
		}
		r.off = 0
	}
	// Otherwise the unread tail moves to the front when the next read
	// needs room (see grow); moving it now would cost a copy per message
	// when several are buffered.
	return nil
}

// Len returns the number of buffered unread bytes.
func (r *stdReader) Len() int { return len(r.buf) - r.off }

// ReadAhead implements conn.ReadAheader: it moves bytes the kernel has
// already received into the buffer, without waiting (and whatever read
// deadline is set), until limit bytes are buffered or the socket's receive
// queue is empty, and returns how many are buffered. A read error (EOF
// included) is kept for the reads that come after the buffered bytes, as
// a blocking read keeps it. It reads only plain TCP and unix connections:
// over TLS, or a net.Conn type of the user's, it reads nothing.
func (r *stdReader) ReadAhead(limit int) int {
	var sc syscall.Conn
	switch nc := r.c.nc.(type) {
	case *net.TCPConn:
		sc = nc
	case *net.UnixConn:
		sc = nc
	}
	if sc == nil || r.err != nil || r.c.intr.Load() {
		return r.Len()
	}
	for r.Len() < limit {
		r.grow(min(limit-r.Len(), stdMaxRetained))
		free := r.buf[len(r.buf):cap(r.buf)]
		if len(free) > limit-r.Len() {
			free = free[:limit-r.Len()]
		}
		m, err := readNowRaw(sc, free)
		r.buf = r.buf[:len(r.buf)+m]
		if err != nil {
			r.err = err
			r.c.broken.Store(true)
			break
		}
		if m < len(free) {
			break // drained: what arrives later is read when asked for
		}
	}
	return r.Len()
}

// fill blocks until n bytes are buffered.
func (r *stdReader) fill(n int) error {
	if n < 0 {
		return fmt.Errorf("engine: negative length %d", n)
	}
	armed := false
	for len(r.buf)-r.off < n {
		if r.err != nil {
			return r.err
		}
		r.grow(n - (len(r.buf) - r.off))
		if !armed {
			// One deadline for the whole wait, not one per read.
			if err := r.arm(); err != nil {
				return err
			}
			armed = true
		}
		m, err := r.c.nc.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+m]
		switch {
		case err == nil:
		case isTimeout(err):
			// Not sticky: the connection stays usable.
			if len(r.buf)-r.off >= n {
				return nil
			}
			if r.c.intr.Load() {
				return errShutdown
			}
			return err
		default:
			// EOF or a broken connection: every later read fails too, after
			// the bytes already buffered.
			r.err = err
			r.c.broken.Store(true)
		}
	}
	return nil
}

// arm sets the read deadline for a blocking wait: the request's, when
// one is set, otherwise the read timeout from now.
func (r *stdReader) arm() error {
	if u := r.c.until.Load(); u != 0 {
		if !r.deadline || r.fixed != u {
			if err := r.c.nc.SetReadDeadline(time.Unix(0, u)); err != nil {
				return err
			}
			r.deadline, r.fixed = true, u
		}
	} else if d := time.Duration(r.c.timeout.Load()); d > 0 {
		if err := r.c.nc.SetReadDeadline(time.Now().Add(d)); err != nil {
			return err
		}
		r.deadline, r.fixed = true, 0
	} else if r.deadline {
		if err := r.c.nc.SetReadDeadline(time.Time{}); err != nil {
			return err
		}
		r.deadline, r.fixed = false, 0
	}
	// Checked after the deadline is set: an interrupt that came before
	// it is seen here, one that comes after it overrides the deadline.
	if r.c.intr.Load() {
		return errShutdown
	}
	return nil
}

// grow makes room for a read of at least stdMinRead bytes after the
// buffered ones, and of up to need. Up to stdMaxRetained, a buffer that
// would compact for a need larger than stdMinRead grows instead, to
// stdRoomFactor times what is wanted (so at most quadruples per call);
// past it, the buffer at most doubles per call. So it grows with the
// bytes that actually arrive: a length prefix that announces 16 MB costs
// nothing until the 16 MB come. A connection that reads large messages
// keeps a buffer of stdRoomFactor times their size, up to
// stdMaxRetained.
func (r *stdReader) grow(need int) {
	want := max(min(need, max(cap(r.buf), stdInitialBuffer)), stdMinRead)
	if cap(r.buf)-len(r.buf) >= want {
		return
	}
	unread := len(r.buf) - r.off
	roomy := need <= stdMinRead || cap(r.buf) >= stdRoomFactor*want || cap(r.buf) >= stdMaxRetained
	if !r.lent && cap(r.buf)-unread >= want && roomy {
		// No slice of buf is out: compact in place.
		copy(r.buf[:unread], r.buf[r.off:])
		r.buf = r.buf[:unread]
		r.off = 0
		return
	}
	// Slices lent since the last Release keep pointing at the old array,
	// which stays intact; the new one only holds the unread bytes.
	size := max(cap(r.buf), stdInitialBuffer)
	for size < unread+want || !roomy && size < stdRoomFactor*want && size < stdMaxRetained {
		size *= 2
	}
	nb := make([]byte, unread, size)
	copy(nb, r.buf[r.off:])
	r.buf = nb
	r.off = 0
}

// stdWriter is the write side: buf holds what Flush will send.
type stdWriter struct {
	c   *stdConn
	buf []byte

	// Big slices given to WriteBinary are kept, not copied, when the
	// connection writes vectors (TCP, unix): segs then lists what Flush
	// writes, in order, and buf[mark:] is the tail not in segs yet.
	vectored bool
	segs     [][]byte
	mark     int
	kept     int // bytes in segs that are not in buf
}

var (
	_ conn.Writer      = (*stdWriter)(nil)
	_ conn.MallocAcker = (*stdWriter)(nil)
)

// stdNoCopyMin is the size from which WriteBinary keeps a slice instead of
// copying it, when the connection writes vectors. At 16 KB gRPC messages,
// copying every DATA frame into one buffer (regrown for each batch past
// stdMaxRetained) took a fifth of the client's CPU.
const stdNoCopyMin = 4 << 10

// Malloc appends n bytes to the pending buffer and returns them.
func (w *stdWriter) Malloc(n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("engine: negative length %d", n)
	}
	w.grow(n)
	l := len(w.buf)
	w.buf = w.buf[:l+n]
	return w.buf[l : l+n : l+n], nil
}

// grow makes room for n more bytes in buf. Bytes before mark are listed
// in segs already (which keep the old array until Flush): only the tail
// after them moves to the new array.
func (w *stdWriter) grow(n int) {
	if cap(w.buf)-len(w.buf) >= n {
		return
	}
	tail := w.buf[w.mark:]
	nb := make([]byte, len(tail), max(2*cap(w.buf), len(tail)+n, stdMinRead))
	copy(nb, tail)
	w.kept += w.mark
	w.buf, w.mark = nb, 0
}

// WriteBinary appends b: a copy, or b itself (kept until Flush, as the
// conn.Writer contract allows) when it is big and the connection writes
// vectors.
func (w *stdWriter) WriteBinary(b []byte) (int, error) {
	if len(b) < stdNoCopyMin || !w.vectored {
		w.grow(len(b))
		w.buf = append(w.buf, b...)
		return len(b), nil
	}
	if len(w.buf) > w.mark {
		w.segs = append(w.segs, w.buf[w.mark:len(w.buf):len(w.buf)])
		w.mark = len(w.buf)
	}
	w.segs = append(w.segs, b)
	w.kept += len(b)
	return len(b), nil
}

// MallocLen returns the number of bytes written since the last Flush.
func (w *stdWriter) MallocLen() int { return len(w.buf) + w.kept }

// MallocAck implements conn.MallocAcker: it keeps the first n pending
// bytes. Bytes already listed for a vectored write (those before a large
// WriteBinary slice, and the slice) are not taken back: it refuses then.
func (w *stdWriter) MallocAck(n int) error {
	drop := w.MallocLen() - n
	if n < 0 || drop < 0 {
		return fmt.Errorf("engine: MallocAck(%d) with %d bytes written", n, w.MallocLen())
	}
	if drop > len(w.buf)-w.mark {
		return fmt.Errorf("engine: MallocAck(%d): bytes queued for a vectored write cannot be taken back", n)
	}
	w.buf = w.buf[:len(w.buf)-drop]
	return nil
}

// Flush sends the pending bytes with one Write (one writev when slices
// were kept) and empties the buffer, also when the write fails.
func (w *stdWriter) Flush() error {
	if w.MallocLen() == 0 {
		return nil
	}
	var err error
	switch {
	case w.c.closed.Load():
		err = net.ErrClosed
	case len(w.segs) > 0:
		if len(w.buf) > w.mark {
			w.segs = append(w.segs, w.buf[w.mark:])
		}
		bufs := net.Buffers(w.segs)
		_, err = bufs.WriteTo(w.c.nc)
	default:
		_, err = w.c.nc.Write(w.buf)
	}
	clear(w.segs) // the kept slices belong to the caller again
	w.segs, w.mark, w.kept = w.segs[:0], 0, 0
	if cap(w.buf) > stdMaxRetained {
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
	if err != nil {
		w.c.broken.Store(true)
	}
	return err
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// stdServer serves connections with one goroutine each.
type stdServer struct {
	p      ServerParams
	ctx    context.Context // parent of every connection context
	cancel context.CancelFunc

	down atomic.Bool   // Shutdown was called; set with mu held
	done chan struct{} // closed when down becomes true

	mu       sync.Mutex
	lns      map[net.Listener]struct{}
	conns    map[*stdConn]struct{}
	noAccept bool // StopAccepting was called

	serving sync.WaitGroup // Serve loops
	active  sync.WaitGroup // connection goroutines
}

var (
	_ Server        = (*stdServer)(nil)
	_ AcceptStopper = (*stdServer)(nil)
)

// StopAccepting implements AcceptStopper: it closes the listeners (Serve
// returns nil) and keeps serving the open connections until Shutdown.
func (s *stdServer) StopAccepting() {
	s.mu.Lock()
	s.noAccept = true
	for ln := range s.lns {
		_ = ln.Close()
	}
	s.mu.Unlock()
}

// Serve accepts connections on ln until Shutdown and serves each on its own
// goroutine. It closes ln when it returns. It returns nil after Shutdown
// (also when called after Shutdown), and the accept error otherwise.
// Temporary accept errors (such as too many open files) are retried with a
// backoff of up to one second. Serve may run for several listeners at once.
func (s *stdServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.down.Load() || s.noAccept {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.lns[ln] = struct{}{}
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			stopped := s.noAccept
			s.mu.Unlock()
			if s.down.Load() || stopped {
				return nil
			}
			if !isTemporary(err) {
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return nil
			}
			continue
		}
		delay = 0
		c := newStdConn(nc)
		s.mu.Lock()
		if s.down.Load() {
			s.mu.Unlock()
			_ = nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.active.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// serveConn runs one connection: its events, then its cleanup.
func (s *stdServer) serveConn(c *stdConn) {
	defer s.active.Done()
	h := s.p.Handler
	ctx := h.OnConnect(s.ctx, c)
	if ctx == nil {
		ctx = s.ctx
	}
	if !c.closed.Load() { // OnConnect closes a connection it refuses
		s.serveRequests(ctx, c)
	}
	_ = c.Close()
	h.OnDisconnect(ctx, c)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// serveRequests calls OnRequest whenever bytes are readable, until a read
// fails, OnRequest fails or the server shuts down.
func (s *stdServer) serveRequests(ctx context.Context, c *stdConn) {
	stalled := false // the last OnRequest consumed nothing of a partial request
	for {
		switch {
		case c.r.Len() == 0:
			if !s.enterIdle(c) {
				return
			}
			_ = c.SetReadTimeout(s.p.IdleTimeout)
			_, err := c.r.Peek(1)
			s.leaveIdle(c)
			if err != nil {
				return
			}
			// The first byte of a request came: ReadTimeout bounds the
			// time until all of it is here.
			c.startRequest(s.p.ReadTimeout)
		case stalled:
			// Wait for more of the request instead of calling OnRequest
			// again on the same bytes, within the same request deadline.
			if _, err := c.r.Peek(c.r.Len() + 1); err != nil {
				return
			}
		default:
			// The next request's first bytes came with the last one.
			c.startRequest(s.p.ReadTimeout)
		}
		before := c.r.consumed
		if err := s.p.Handler.OnRequest(ctx, c); err != nil {
			return
		}
		stalled = c.r.consumed == before && c.r.Len() > 0
	}
}

// enterIdle marks c idle, or reports false when the server is shutting
// down (c, with nothing buffered, must close).
func (s *stdServer) enterIdle(c *stdConn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Shutdown sets down before it looks at c.idle under c.mu: either it
	// sees c idle and interrupts it, or this sees down.
	if s.down.Load() {
		return false
	}
	c.idle = true
	return true
}

// leaveIdle marks c busy and undoes a Shutdown interrupt, so that a request
// whose first bytes arrived before the interrupt is read in full.
func (s *stdServer) leaveIdle(c *stdConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = false
	if c.interrupted {
		c.interrupted = false
		c.clearInterrupt()
	}
}

// Shutdown closes the listeners (Serve returns nil), closes connections as
// soon as they are idle (not inside OnRequest, nothing buffered) and waits
// for all of them to close. If ctx ends first, it cancels the context given
// to Handler.OnConnect, closes every connection, waits for the connection
// goroutines to return from the Handler and returns ctx.Err(). When
// Shutdown returns, no goroutine of the server is left. Shutdown may be
// called more than once and concurrently.
func (s *stdServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.down.Load() {
		s.down.Store(true)
		close(s.done)
	}
	for ln := range s.lns {
		_ = ln.Close()
	}
	for c := range s.conns {
		c.mu.Lock()
		if c.idle && !c.interrupted {
			c.interrupted = true
			c.interrupt()
		}
		c.mu.Unlock()
	}
	s.mu.Unlock()

	finished := make(chan struct{})
	go func() {
		s.serving.Wait()
		s.active.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
	}
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	<-finished
	return ctx.Err()
}
