package h2transport

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	skconn "github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/core/transport"
)

const (
	defaultFrameSize = 16384
	defaultWindow    = 65535
	maxWindow        = 1<<31 - 1
	maxStreamID      = 1<<31 - 1
	frameHeaderLen   = 9
)

// conn is one HTTP/2 connection, client or server.
//
// Lock order: wmu before mu before stream.mu. Nobody waits on mu's cond
// while holding wmu.
type conn struct {
	ec          skconn.Conn
	shortWaiter skconn.ShortWaiter // ec's, when its engine must be told of a yield or a timed wait; nil otherwise
	sparse      *skconn.Sparse     // the DATA frames this side's connections receive (sparseData)
	opts        *options
	log         *slog.Logger
	server      bool
	scheme      string
	authority   string                         // client: default :authority
	handler     func(s stream.RawServerStream) // server
	work        chan *serverStream             // server: streams for idle workers
	budget      *memBudget                     // server: the Protocol's stream memory budget, or nil
	charged     atomic.Int64                   // server: what this connection's streams are charged
	idleWorkers atomic.Int32

	// Read side, used by the reading goroutine only.
	rd          *connReader
	fr          *http2.Framer
	hdec        *headerDecoder
	gotSettings bool
	bdp         *bdpEstimator // nil: fixed windows
	lastPingAt  time.Time
	rstTokens   float64
	rstLast     time.Time
	drainAcked  bool

	// Write side, guarded by wmu.
	wmu          sync.Mutex
	wcond        sync.Cond // signalled when wbuf drains
	wbuf         []byte    // frames waiting for the writer goroutine
	wspare       []byte
	wsegs        [][]byte // full segments queued before wbuf (reserveLocked)
	wsegLen      int      // their bytes
	wsegSpare    [][]byte
	wactive      bool // the writer goroutine was kicked and has not gone idle
	wsending     bool // a goroutine is writing what it took from wbuf (all writes set it)
	wclose       bool // the writer returns once wbuf is written
	werr         error
	henc         *hpack.Encoder
	hmemo        hmemo // what henc wrote for recent fields
	hbuf         bytes.Buffer
	peerMaxFrame int
	kick         chan struct{}
	writerDone   chan struct{}
	readerDone   chan struct{} // a client's: closed when its reader ends (nil on servers)
	wfailed      chan struct{} // closed when the writer stops on a write error
	writerUp     bool
	pingStrikes  atomic.Int32
	ctlQueued    int         // bytes of answers the reader queued since the last write began
	ctlOverflow  atomic.Bool // ctlQueued passed maxControlQueued

	// Receive flow control (bdp.go). streamWin is the receive window of
	// new streams; the rest is guarded by fmu, which is taken last and
	// never held while taking another lock.
	streamWin   atomic.Int64
	fmu         sync.Mutex
	connWin     int64       // the connection receive window
	connRecvWin int64       // connection window the peer may still use
	unread      int64       // received DATA bytes not read or discarded yet
	bdpFree     atomic.Bool // server: DATA was written since the last BDP ping forgiven

	// Stream state, guarded by mu.
	mu             sync.Mutex
	cond           sync.Cond // send windows, stream slots
	streams        map[uint32]*h2stream
	nactive        int          // open streams (client: plus reserved slots)
	busy           atomic.Int32 // nactive, read without mu
	handlers       int          // server: running handlers
	sendWin        int64        // connection send window
	peerInitWin    int64        // peer's SETTINGS_INITIAL_WINDOW_SIZE
	peerMaxStreams uint32       // peer's SETTINGS_MAX_CONCURRENT_STREAMS
	nextID         uint32       // client: next stream id
	maxPeerID      uint32       // server: highest stream id the client opened
	goAway         bool         // server: final GOAWAY sent; client: GOAWAY received
	draining       bool         // server: Shutdown began
	closed         bool
	closeErr       error

	done       chan struct{} // closed when the connection closes
	idle       chan struct{} // signalled when a stream or handler ends
	settingsCh chan struct{} // client: closed on the server's first SETTINGS
	drainAck   chan struct{} // server: closed when the shutdown PING is answered
	started    chan struct{} // server: closed once Serve queued its SETTINGS

	// Keepalive, used by the timer callback only (activity by the reader).
	activity  atomic.Bool
	kaTimer   *time.Timer
	kaPinging bool
	kaPingAt  time.Time
	kaTime    time.Duration
	kaTimeout time.Duration
	kaIdle    bool // ping without open streams

	// Server: WithMaxConnectionIdle, guarded by mu.
	idleSince   time.Time   // when the last stream ended (or Serve began)
	maxIdleTime *time.Timer // checks idleSince; nil when off
}

func newConn(ec skconn.Conn, o *options, server bool, l *slog.Logger) *conn {
	sw, _ := ec.(skconn.ShortWaiter)
	c := &conn{
		ec:             ec,
		shortWaiter:    sw,
		sparse:         &sparseData.client,
		opts:           o,
		log:            logger(l),
		server:         server,
		scheme:         "http",
		connRecvWin:    defaultWindow,
		connWin:        int64(max(o.connWindow, defaultWindow)),
		rstTokens:      o.resetBurst,
		peerMaxFrame:   defaultFrameSize,
		kick:           make(chan struct{}, 1),
		writerDone:     make(chan struct{}),
		wfailed:        make(chan struct{}),
		streams:        make(map[uint32]*h2stream),
		sendWin:        defaultWindow,
		peerInitWin:    defaultWindow,
		peerMaxStreams: math.MaxUint32,
		done:           make(chan struct{}),
		idle:           make(chan struct{}, 1),
		work:           make(chan *serverStream),
		drainAck:       make(chan struct{}),
		started:        make(chan struct{}),
	}
	if isTLS(ec) {
		c.scheme = "https"
	}
	if server {
		c.sparse = &sparseData.server
	} else {
		c.nextID = 1
	}
	c.cond.L = &c.mu
	c.wcond.L = &c.wmu
	c.streamWin.Store(int64(max(o.streamWindow, defaultWindow)))
	if o.dynamicWindow {
		c.bdp = newBDPEstimator(uint32(c.streamWin.Load()), MaxConnWindow)
	}
	c.henc = hpack.NewEncoder(&c.hbuf)
	c.rd = &connReader{r: ec.Reader()}
	c.fr = http2.NewFramer(nil, c.rd)
	c.hdec = newHeaderDecoder(o.maxHeaderListSize, server)
	c.fr.SetMaxReadFrameSize(defaultFrameSize) // what SETTINGS_MAX_FRAME_SIZE leaves at its default
	c.fr.SetReuseFrames()                      // frames are not kept past the next ReadFrame
	return c
}

// connReader adapts the engine's zero-copy reader to io.Reader for the
// Framer; err keeps the first read error, telling I/O failures from
// protocol errors.
type connReader struct {
	r   transport.Reader
	err error
}

// Read fills p whole: the Framer reads only with io.ReadFull, so asking
// the engine for all of p at once costs no extra wait, and lets the
// engine read a large frame with few system calls (as much as the
// socket has, into a buffer grown for it) instead of a buffer's worth at
// a time.
func (a *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := len(p)
	b, err := a.r.Next(n)
	if err != nil {
		a.err = err
		return 0, err
	}
	copy(p, b)
	_ = a.r.Release()
	return n, nil
}

// ---- writing ----

func (c *conn) appendFrameHeader(length int, t http2.FrameType, f http2.Flags, id uint32) {
	c.wbuf = append(c.wbuf, byte(length>>16), byte(length>>8), byte(length), byte(t), byte(f),
		byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
}

func (c *conn) writeSettingsLocked(ss ...http2.Setting) {
	c.appendFrameHeader(6*len(ss), http2.FrameSettings, 0, 0)
	for _, s := range ss {
		c.wbuf = append(c.wbuf, byte(s.ID>>8), byte(s.ID), byte(s.Val>>24), byte(s.Val>>16), byte(s.Val>>8), byte(s.Val))
	}
}

func (c *conn) writeWindowUpdateLocked(id uint32, inc uint32) {
	c.appendFrameHeader(4, http2.FrameWindowUpdate, 0, id)
	c.wbuf = append(c.wbuf, byte(inc>>24), byte(inc>>16), byte(inc>>8), byte(inc))
}

func (c *conn) writeRSTLocked(id uint32, code http2.ErrCode) {
	c.appendFrameHeader(4, http2.FrameRSTStream, 0, id)
	c.wbuf = append(c.wbuf, byte(code>>24), byte(code>>16), byte(code>>8), byte(code))
}

func (c *conn) writePingLocked(ack bool, data [8]byte) {
	var f http2.Flags
	if ack {
		f = http2.FlagPingAck
	}
	c.appendFrameHeader(8, http2.FramePing, f, 0)
	c.wbuf = append(c.wbuf, data[:]...)
}

func (c *conn) writeGoAwayLocked(last uint32, code http2.ErrCode, debug string) {
	c.appendFrameHeader(8+len(debug), http2.FrameGoAway, 0, 0)
	c.wbuf = append(c.wbuf, byte(last>>24), byte(last>>16), byte(last>>8), byte(last),
		byte(code>>24), byte(code>>16), byte(code>>8), byte(code))
	c.wbuf = append(c.wbuf, debug...)
}

// writeDataLocked writes p as DATA frames no larger than the peer allows;
// the last one carries END_STREAM if end is set.
func (c *conn) writeDataLocked(id uint32, p []byte, end bool) {
	for {
		n := min(len(p), c.peerMaxFrame)
		var f http2.Flags
		if end && n == len(p) {
			f = http2.FlagDataEndStream
		}
		c.reserveLocked(frameHeaderLen + n)
		c.appendFrameHeader(n, http2.FrameData, f, id)
		c.wbuf = append(c.wbuf, p[:n]...)
		p = p[n:]
		if len(p) == 0 {
			break
		}
	}
	if c.server {
		c.pingStrikes.Store(0)
		c.bdpFree.Store(true)
	}
}

// hop-by-hop fields HTTP/2 forbids (RFC 9113 section 8.2.2).
func forbiddenField(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// encodeField adds one field to the header block being built in hbuf.
func (c *conn) encodeField(name, value string) {
	for i := 0; i < len(name); i++ {
		if b := name[i]; 'A' <= b && b <= 'Z' {
			name = strings.ToLower(name)
			break
		}
	}
	if forbiddenField(name) {
		return
	}
	c.writeField(name, value)
}

// encodeRegular adds the fields of h that are not pseudo-headers.
func (c *conn) encodeRegular(h stream.Header) {
	for _, f := range h {
		if !strings.HasPrefix(f.Name, ":") {
			c.encodeField(f.Name, f.Value)
		}
	}
}

// writeHeaderBlockLocked writes the header block in hbuf as HEADERS and
// CONTINUATION frames.
func (c *conn) writeHeaderBlockLocked(id uint32, end bool) {
	b := c.hbuf.Bytes()
	first := true
	for first || len(b) > 0 {
		n := min(len(b), c.peerMaxFrame)
		chunk := b[:n]
		b = b[n:]
		var f http2.Flags
		if len(b) == 0 {
			f |= http2.FlagHeadersEndHeaders
		}
		t := http2.FrameContinuation
		if first {
			t = http2.FrameHeaders
			if end {
				f |= http2.FlagHeadersEndStream
			}
		}
		c.appendFrameHeader(n, t, f, id)
		c.wbuf = append(c.wbuf, chunk...)
		first = false
	}
	c.hbuf.Reset()
	if c.server {
		c.pingStrikes.Store(0)
	}
}

// wsegSize is the size of the pooled segments that large DATA frames are
// queued in: a batch of large messages is not copied again and again as
// one buffer grows.
const wsegSize = 256 << 10

var segPool = sync.Pool{New: func() any { b := make([]byte, 0, wsegSize); return &b }}

// segBoxes holds the empty *[]byte boxes of segments taken from segPool,
// so that putting a segment back reuses one instead of allocating a new
// box.
var segBoxes = sync.Pool{New: func() any { return new([]byte) }}

// getSeg takes a segment from segPool.
func getSeg() []byte {
	p := segPool.Get().(*[]byte)
	b := (*p)[:0]
	*p = nil
	segBoxes.Put(p)
	return b
}

// putSeg gives b, a segment of wsegSize bytes, back to segPool.
func putSeg(b []byte) {
	p := segBoxes.Get().(*[]byte)
	*p = b[:0]
	segPool.Put(p)
}

// reserveLocked makes room for a frame of n bytes: a large frame that does
// not fit in wbuf goes into a new segment (pooled, or of its own size),
// wbuf joining the full segments. wmu is held.
func (c *conn) reserveLocked(n int) {
	if n < 4<<10 || len(c.wbuf)+n <= cap(c.wbuf) {
		return
	}
	if len(c.wbuf) > 0 {
		c.wsegs = append(c.wsegs, c.wbuf)
		c.wsegLen += len(c.wbuf)
	}
	if n <= wsegSize {
		c.wbuf = getSeg()
	} else {
		c.wbuf = make([]byte, 0, n)
	}
}

// pendingLocked returns the bytes queued for the socket; wmu is held.
func (c *conn) pendingLocked() int { return c.wsegLen + len(c.wbuf) }

// takeLocked takes what is queued for a write; wmu is held.
func (c *conn) takeLocked() [][]byte {
	segs := append(c.wsegs, c.wbuf)
	c.wsegs, c.wsegSpare, c.wsegLen = c.wsegSpare[:0], nil, 0
	c.wbuf, c.wspare = c.wspare[:0], nil
	return segs
}

// recycleLocked keeps the written segments for later writes; wmu is held.
func (c *conn) recycleLocked(segs [][]byte) {
	for i, b := range segs {
		switch {
		case cap(b) == wsegSize:
			putSeg(b)
		case i == len(segs)-1 && cap(b) <= 1<<20:
			c.wspare = b[:0]
		}
	}
	clear(segs)
	c.wsegSpare = segs[:0]
}

// writeSegs writes segments and flushes.
func writeSegs(w transport.Writer, segs [][]byte) error {
	for _, b := range segs {
		if len(b) == 0 {
			continue
		}
		if _, err := w.WriteBinary(b); err != nil {
			return err
		}
	}
	return w.Flush()
}

// kickLocked makes the writer goroutine write wbuf.
func (c *conn) kickLocked() {
	if !c.wactive {
		c.wactive = true
		c.kick <- struct{}{}
	}
}

// yieldMinStreams is the number of busy streams from which the writer
// goroutine yields once before it writes, so that one write carries the
// frames of every stream ready by then, on either engine and either side.
// Netpoll clients used to hold their writes instead, until the callers a
// read woke had queued theirs; since the engine's waker bounds how long
// Netpoll's poller can keep a lone P, the yield measured better (pinned
// gRPC with a Netpoll client, medians of 3: c=100 159k -> 172k QPS,
// c=400 137k -> 173k, c=1000 145k -> 156k; client CPU per call 5.5 ->
// 5.1 µs at c=100; c=10 unchanged). With fewer busy streams there
// is little to gather, and waiting for it kept the peers in lockstep,
// each idle while the other handled a whole wave (pinned gRPC at c=10);
// on Netpoll with one P, a yield can also hand the P to the poller, which
// then blocks in epoll_wait with the writer runnable until the engine's
// waker expires (pinned at c=1 it added 100 µs to every call).
const yieldMinStreams = 16

// unflushedMaxBytes bounds the frames a stream may leave queued for its
// next send (sendData without flush) before they are flushed anyway.
const unflushedMaxBytes = 256 << 10

// inlineMaxStreams is the number of open streams up to which a goroutine
// writes its frames itself.
const inlineMaxStreams = 2

// flushLocked sends wbuf now from the calling goroutine when no write is
// in progress (saving the hand-off to the writer goroutine), else leaves
// it to the writer in progress. Only goroutines that may block on the
// socket call it (never the frame reader). wmu is held; it is released
// during the write.
func (c *conn) flushLocked() {
	// With several streams open, the writer goroutine batches their
	// frames into one write (other goroutines may be about to add theirs,
	// and on a single P no one else runs during an inline write); a lone
	// stream writes at once. While the kicked writer has not started, a
	// goroutine that finds earlyFlushBytes queued writes them itself.
	if c.wactive && !c.wsending && c.writerUp && !c.wclose && c.werr == nil && !c.isClosed() &&
		c.pendingLocked() >= earlyFlushBytes {
		c.writeEarlyLocked()
		return
	}
	if c.wactive || !c.writerUp || c.wclose || c.busy.Load() > inlineMaxStreams {
		c.kickLocked()
		return
	}
	c.writeInlineLocked()
}

// writeInlineLocked writes wbuf from the calling goroutine; no write is in
// progress and the writer goroutine is up. wmu is held and released during
// the write.
func (c *conn) writeInlineLocked() {
	c.wactive = true
	c.wsending = true
	segs := c.takeLocked()
	c.ctlQueued = 0
	c.wmu.Unlock()
	err := writeSegs(c.ec.Writer(), segs)
	c.wmu.Lock()
	c.wsending = false
	c.recycleLocked(segs)
	c.wcond.Broadcast()
	if err != nil {
		c.werr = err
		c.kick <- struct{}{} // the writer goroutine closes the connection
		return
	}
	if c.pendingLocked() > 0 || c.wclose {
		c.kick <- struct{}{} // more arrived meanwhile: the writer goroutine takes it
		return
	}
	c.wactive = false
}

// earlyFlushBytes is how much a goroutine queuing frames writes itself
// while the writer goroutine has been kicked but has not started writing.
// On one P the writer runs only after every goroutine queued before it,
// so without this a whole wave of answers (or requests) left in one write
// at the end, and the peer idled until then: each side waited for the
// other's wave (pinned c=100 gRPC: client 37 % idle, server 24 %).
// Writing every 16 KB lets the peer start on the first answers while the
// rest are made: pinned c=100 gRPC unary 1 KB 135k -> 162k QPS, bidi
// 247k -> 355k, 16 KB 45k -> 52k, c=1000 127k -> 169k; a Netpoll client
// 90k -> 150k. 8 KB made more writes than it saved waiting (158k), 32 KB
// was as good (161k).
const earlyFlushBytes = 16 << 10

// writeEarlyLocked writes what is queued from the calling goroutine while
// the writer goroutine is kicked but not writing (see earlyFlushBytes).
// wmu is held and released during the write; the writer goroutine, which
// is kicked, handles an error.
func (c *conn) writeEarlyLocked() {
	c.wsending = true
	segs := c.takeLocked()
	c.ctlQueued = 0
	c.wmu.Unlock()
	err := writeSegs(c.ec.Writer(), segs)
	c.wmu.Lock()
	c.recycleLocked(segs)
	c.wsending = false
	if err != nil && c.werr == nil {
		c.werr = err
	}
	c.wcond.Broadcast()
}

// writableLocked waits while too much is queued; it returns the error
// that keeps the connection from writing, if any.
func (c *conn) writableLocked() error {
	for c.pendingLocked() > maxPending && c.werr == nil && !c.isClosed() {
		c.kickLocked() // frames may be queued unflushed (sendData)
		c.wcond.Wait()
	}
	if c.werr != nil {
		return connClosedError(c.werr)
	}
	if c.isClosed() {
		return c.connErr()
	}
	return nil
}

func (c *conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// writeLoop sends what the other goroutines queue in wbuf, one Flush per
// batch, until the connection closes.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	for {
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
		w := c.ec.Writer() // per batch: an engine may note the activity
		if c.busy.Load() >= yieldMinStreams {
			if c.shortWaiter != nil {
				c.shortWaiter.ShortWait()
			}
			runtime.Gosched()
		}
		c.wmu.Lock()
		for c.werr == nil && !c.isClosed() {
			if c.wsending {
				// An early write (writeEarlyLocked) is in progress: writes
				// never overlap, and the writer stays active until it ends.
				c.wcond.Wait()
				continue
			}
			if c.pendingLocked() == 0 {
				break
			}
			segs := c.takeLocked()
			c.ctlQueued = 0
			c.wsending = true
			c.wmu.Unlock()
			err := writeSegs(w, segs)
			c.wmu.Lock()
			c.wsending = false
			c.recycleLocked(segs)
			if err != nil {
				c.werr = err
			}
			c.wcond.Broadcast()
		}
		for c.wsending {
			// An early write still running (the connection closed or
			// failed meanwhile): no other write may start before it ends.
			c.wcond.Wait()
		}
		c.wactive = false
		werr, wclose := c.werr, c.wclose
		c.wmu.Unlock()
		if werr != nil {
			close(c.wfailed) // nothing more will be written: flushAndClose need not wait
			c.closeAfterReads(werr)
			return
		}
		if wclose {
			return
		}
	}
}

// writeFailDrain bounds how long a client whose write failed waits for
// its reader before it fails the open streams.
const writeFailDrain = time.Second

// closeAfterReads closes the connection with err, a write error. A
// client's write usually fails because the peer closed the connection
// (a server that finished its last streams after GOAWAY, then closed):
// the replies it sent before closing may still wait in the engine's
// buffer, so the connection closes once the reader has taken them in and
// met the end (the reader then closes it with its own error), or after
// writeFailDrain.
func (c *conn) closeAfterReads(err error) {
	if c.readerDone != nil {
		t := time.NewTimer(writeFailDrain)
		select {
		case <-c.readerDone:
		case <-t.C:
		}
		t.Stop()
	}
	c.close(err)
}

// startWriter starts the writer goroutine once.
func (c *conn) startWriter() {
	c.wmu.Lock()
	up := c.writerUp
	c.writerUp = true
	c.wmu.Unlock()
	if !up {
		go c.writeLoop()
	}
}

// flushAndClose lets the writer send what is queued (at most timeout) and
// closes the connection with err.
func (c *conn) flushAndClose(err error, timeout time.Duration) {
	c.wmu.Lock()
	c.wclose = true
	up := c.writerUp
	if up {
		c.kickLocked()
	}
	c.wmu.Unlock()
	if up {
		t := time.NewTimer(timeout)
		select {
		case <-c.writerDone:
		case <-c.wfailed: // the writer waits for the reader (closeAfterReads), maybe this one
		case <-t.C:
		}
		t.Stop()
	}
	c.close(err)
}

// waitWriter waits for the writer goroutine to end after close.
func (c *conn) waitWriter() {
	c.wmu.Lock()
	up := c.writerUp
	c.writerUp = true // a later startWriter must not start one
	c.wmu.Unlock()
	if up {
		<-c.writerDone
	}
}

// sendRST sends RST_STREAM: inline (as in flushLocked) from application
// goroutines, queued without waiting (see controlLocked) from the frame
// reader.
func (c *conn) sendRST(id uint32, code http2.ErrCode, inline bool) {
	c.wmu.Lock()
	// Never waits for the socket (Reset runs on timers): at most one RST
	// per stream is queued, so the queue stays bounded.
	ok := c.werr == nil && !c.isClosed()
	if !inline {
		ok = c.controlLocked()
	}
	if ok {
		c.writeRSTLocked(id, code)
		c.kickLocked()
	}
	c.wmu.Unlock()
}

// sendWindowUpdate sends WINDOW_UPDATE, inline or not as sendRST.
func (c *conn) sendWindowUpdate(id uint32, inc int, inline bool) {
	c.wmu.Lock()
	if c.canWrite(inline) {
		c.writeWindowUpdateLocked(id, uint32(inc))
		c.flush(inline)
	}
	c.wmu.Unlock()
}

// canWrite reports whether a frame can be queued; application goroutines
// (inline) wait while too much is queued, the frame reader does not.
func (c *conn) canWrite(inline bool) bool {
	if inline {
		return c.writableLocked() == nil
	}
	return c.controlLocked()
}

// controlLocked accounts for a control frame the frame reader queues (an
// answer to the peer: SETTINGS or PING ACK, WINDOW_UPDATE, RST_STREAM).
// The reader never waits for the socket; a peer that makes it queue more
// than maxControlQueued bytes of answers between two writes (a flood it
// does not read) is cut off with ENHANCE_YOUR_CALM by the read loop. It
// reports whether the frame can be queued.
func (c *conn) controlLocked() bool {
	if c.werr != nil || c.isClosed() {
		return false
	}
	c.ctlQueued += 17 // the largest answer: PING ACK
	if c.ctlQueued > maxControlQueued {
		c.ctlOverflow.Store(true)
		return false
	}
	return true
}

// flush sends wbuf inline or through the writer goroutine; wmu is held.
func (c *conn) flush(inline bool) {
	if inline {
		c.flushLocked()
	} else {
		c.kickLocked()
	}
}

// goAwayAndClose sends GOAWAY with code and closes the connection.
func (c *conn) goAwayAndClose(code http2.ErrCode, debug string, err error) {
	c.mu.Lock()
	last := c.maxPeerID
	c.goAway = true
	c.mu.Unlock()
	c.goAwayLastAndClose(last, code, debug, err)
}

// goAwayLastAndClose sends GOAWAY with last and code and closes the
// connection; goAway is already set.
func (c *conn) goAwayLastAndClose(last uint32, code http2.ErrCode, debug string, err error) {
	c.wmu.Lock()
	if c.werr == nil && !c.isClosed() {
		c.writeGoAwayLocked(last, code, debug)
	}
	c.wmu.Unlock()
	c.flushAndClose(err, goAwayFlushTimeout)
}

// ---- closing ----

func (c *conn) connErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return connClosedError(c.closeErr)
}

// close closes the connection with err and fails its streams. It does not
// wait for the goroutines of the connection.
func (c *conn) close(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.closeErr = err
	serr := connClosedError(err)
	streams := make([]*h2stream, 0, len(c.streams))
	for _, s := range c.streams {
		streams = append(streams, s)
		s.removed = true
		s.localDone, s.remoteDone = true, true
		if s.sendErr == nil {
			s.sendErr = serr
		}
	}
	clear(c.streams)
	c.nactive = 0
	c.busy.Store(0)
	c.cond.Broadcast()
	if c.kaTimer != nil {
		c.kaTimer.Stop()
	}
	if c.maxIdleTime != nil {
		c.maxIdleTime.Stop()
	}
	if c.settingsCh != nil && !c.gotSettingsLocked() {
		close(c.settingsCh)
	}
	c.mu.Unlock()
	close(c.done)
	_ = c.ec.Close()
	c.wmu.Lock()
	c.wcond.Broadcast()
	c.wmu.Unlock()
	for _, s := range streams {
		s.failRecv(serr)
		s.finish()
	}
	c.signalIdle()
}

// gotSettingsLocked reports whether settingsCh is closed.
func (c *conn) gotSettingsLocked() bool {
	select {
	case <-c.settingsCh:
		return true
	default:
		return false
	}
}

func (c *conn) signalIdle() {
	select {
	case c.idle <- struct{}{}:
	default:
	}
}

// removeLocked forgets a stream whose both sides ended. It reports
// whether the connection should now close (a client going away with no
// streams left).
func (c *conn) removeLocked(s *h2stream) bool {
	if s.removed {
		return false
	}
	s.removed = true
	delete(c.streams, s.id)
	c.nactive--
	c.busy.Store(int32(c.nactive))
	if c.nactive == 0 && c.maxIdleTime != nil {
		c.idleSince = time.Now()
	}
	c.cond.Broadcast()
	return !c.server && c.goAway && c.nactive == 0
}

// ---- reading ----

// readLoop reads and handles frames until the connection fails. It
// returns the error that ended it.
func (c *conn) readLoop() error {
	for {
		fh, err := c.fr.ReadFrameHeader()
		if err == nil && fh.Type == http2.FrameData && c.gotSettings {
			// DATA, the bulk of the bytes, is read straight from the
			// engine's buffer: no copy into the Framer's.
			err = c.readData(fh)
			if err == nil {
				continue
			}
			if c.rd.err != nil {
				return c.rd.err
			}
			var se streamError
			if errors.As(err, &se) {
				c.onStreamError(se.id, se.code)
				continue
			}
			var ce connError
			if errors.As(err, &ce) {
				return c.fatal(ce)
			}
			return c.readError(err)
		}
		var f http2.Frame
		if err == nil {
			f, err = c.fr.ReadFrameForHeader(fh)
		}
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				if se.StreamID == 0 {
					return c.fatal(connError{code: se.Code, debug: "stream error on stream 0"})
				}
				if fh.Type == http2.FrameHeaders {
					// Its header block was not decoded: the hpack state is lost.
					return c.fatal(connError{code: http2.ErrCodeProtocol, debug: "malformed HEADERS frame"})
				}
				c.onStreamError(se.StreamID, se.Code)
				continue
			}
			return c.readError(err)
		}
		c.activity.Store(true)
		err = c.handleFrame(f)
		if err == nil && c.ctlOverflow.Load() {
			err = connError{code: http2.ErrCodeEnhanceYourCalm, debug: "too_many_control_frames"}
		}
		if err != nil {
			var se streamError
			if errors.As(err, &se) {
				c.onStreamError(se.id, se.code)
				continue
			}
			var ce connError
			if errors.As(err, &ce) {
				return c.fatal(ce)
			}
			return c.readError(err)
		}
	}
}

// readError turns a Framer error into the end of the connection.
func (c *conn) readError(err error) error {
	if c.rd.err != nil {
		return c.rd.err // I/O: the connection is gone
	}
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
		debug := ""
		if d := c.fr.ErrorDetail(); d != nil {
			debug = d.Error()
		}
		return c.fatal(connError{code: http2.ErrCode(ce), debug: debug})
	case errors.Is(err, http2.ErrFrameTooLarge):
		return c.fatal(connError{code: http2.ErrCodeFrameSize, debug: "frame too large"})
	}
	return c.fatal(connError{code: http2.ErrCodeProtocol, debug: err.Error()})
}

// fatal ends the connection with GOAWAY.
func (c *conn) fatal(ce connError) error {
	err := status.Protocolf("h2transport: %s: %s", ce.code, ce.debug)
	c.log.Debug("h2transport: connection error", "remote", c.ec.RemoteAddr(), "code", ce.code.String(), "detail", ce.debug)
	c.goAwayAndClose(ce.code, ce.debug, err)
	return err
}

func (c *conn) handleFrame(f http2.Frame) error {
	if !c.gotSettings {
		sf, ok := f.(*http2.SettingsFrame)
		if !ok || sf.IsAck() {
			return connError{code: http2.ErrCodeProtocol, debug: "first frame is not SETTINGS"}
		}
	}
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.onData(dataFrame{id: f.StreamID, length: f.Length, ended: f.StreamEnded(), data: f.Data()})
	case *http2.HeadersFrame:
		b, err := c.readHeaderBlock(f)
		if err != nil {
			return err
		}
		if c.server {
			return c.onRequestHeaders(&b)
		}
		return c.onResponseHeaders(&b)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.PingFrame:
		return c.onPing(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.RSTStreamFrame:
		return c.onRST(f)
	case *http2.GoAwayFrame:
		return c.onGoAway(f)
	case *http2.PushPromiseFrame:
		return connError{code: http2.ErrCodeProtocol, debug: "PUSH_PROMISE not enabled"}
	}
	return nil // PRIORITY and unknown frame types are ignored
}

// lookup returns the open stream id, or nil.
func (c *conn) lookup(id uint32) *h2stream {
	c.mu.Lock()
	s := c.streams[id]
	c.mu.Unlock()
	return s
}

// idleID reports whether id names a stream that cannot have been opened
// yet (a frame for it is a connection error).
func (c *conn) idleID(id uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.server {
		return id%2 == 0 || id > c.maxPeerID
	}
	return id%2 == 0 || id >= c.nextID
}

func (c *conn) onStreamError(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	if c.server && id%2 == 1 && id > c.maxPeerID {
		c.maxPeerID = id
	}
	s := c.streams[id]
	c.mu.Unlock()
	if s != nil {
		s.resetLocal(uint32(code), resetErrorLocal(code), false)
		return
	}
	c.sendRST(id, code, false)
}

func resetErrorLocal(code http2.ErrCode) error {
	return status.New(status.Internal, "h2transport: stream error "+code.String())
}

// dataFrame is a DATA frame as onData needs it: data is the payload
// without its padding, length the whole frame's (what flow control
// counts).
type dataFrame struct {
	id     uint32
	length uint32
	ended  bool
	data   []byte
}

// readData reads the payload of the DATA frame fh heads from the engine's
// buffer, checks it as the Framer does (RFC 9113 section 6.1), and hands
// it to onData; the engine's bytes are released after that.
func (c *conn) readData(fh http2.FrameHeader) error {
	p, err := c.rd.r.Next(int(fh.Length))
	if err != nil {
		c.rd.err = err
		return err
	}
	c.activity.Store(true)
	defer c.rd.r.Release()
	if fh.StreamID == 0 {
		return connError{code: http2.ErrCodeProtocol, debug: "DATA frame with stream ID 0"}
	}
	if fh.Flags.Has(http2.FlagDataPadded) {
		if len(p) == 0 {
			return connError{code: http2.ErrCodeProtocol, debug: "DATA frame padded without a pad length"}
		}
		pad := int(p[0])
		p = p[1:]
		if pad > len(p) {
			return connError{code: http2.ErrCodeProtocol, debug: "pad size larger than data payload"}
		}
		p = p[:len(p)-pad]
	}
	err = c.onData(dataFrame{id: fh.StreamID, length: fh.Length, ended: fh.Flags.Has(http2.FlagDataEndStream), data: p})
	if err == nil && c.ctlOverflow.Load() {
		err = connError{code: http2.ErrCodeEnhanceYourCalm, debug: "too_many_control_frames"}
	}
	return err
}

func (c *conn) onData(f dataFrame) error {
	flen := int64(f.length)
	if flen > 0 {
		c.fmu.Lock()
		over := flen > c.connRecvWin
		if !over {
			// Counted unread until it is known what was buffered.
			c.connRecvWin -= flen
			c.unread += flen
		}
		c.fmu.Unlock()
		if over {
			return connError{code: http2.ErrCodeFlowControl, debug: "connection window exceeded"}
		}
		if c.bdp != nil || c.shortWaiter != nil {
			now := time.Now()
			if c.bdp != nil && c.bdp.add(uint32(flen), now) {
				c.sendBDPPing()
			}
			if c.shortWaiter != nil && c.sparse.Note(now, sparseGap) {
				c.shortWaiter.ShortWait()
			}
		}
	}
	kept, err := c.onStreamData(f)
	if flen > 0 {
		c.consumed(flen-int64(kept), false)
	}
	return err
}

// onStreamData hands the data of f to its stream. It returns how many
// bytes the stream buffered for reading.
func (c *conn) onStreamData(f dataFrame) (int, error) {
	id := f.id
	flen := int64(f.length)
	s := c.lookup(id)
	if s == nil {
		if c.idleID(id) {
			return 0, connError{code: http2.ErrCodeProtocol, debug: "DATA on idle stream"}
		}
		return 0, nil // a stream that ended or was reset: drop
	}
	data := f.data
	ended := f.ended
	s.mu.Lock()
	if s.rEOF || s.rerr != nil {
		s.mu.Unlock()
		if s.rEOF {
			return 0, streamError{id: id, code: http2.ErrCodeStreamClosed}
		}
		return 0, nil
	}
	s.recvWin -= flen
	if s.recvWin < 0 {
		s.mu.Unlock()
		return 0, streamError{id: id, code: http2.ErrCodeFlowControl}
	}
	upd := 0
	if pad := int(flen) - len(data); pad > 0 {
		s.unacked += pad // padding is never read: give it back now if due
		if s.unacked >= int(c.streamWin.Load())/4 && !ended {
			upd = s.unacked
			s.unacked = 0
			s.recvWin += int64(upd)
		}
	}
	if len(data) > 0 {
		s.appendRecv(data)
	}
	if ended {
		s.rEOF = true
	}
	s.notifyLocked()
	s.mu.Unlock()
	if upd > 0 {
		c.sendWindowUpdate(id, upd, false)
	}
	if ended {
		c.remoteEnded(s)
	}
	return len(data), nil
}

// consumed records that n received DATA bytes were read or discarded, and
// gives connection window back when enough is due (see grantLocked):
// inline or not as sendRST.
func (c *conn) consumed(n int64, inline bool) {
	c.fmu.Lock()
	c.unread -= n
	give := c.grantLocked()
	c.fmu.Unlock()
	if give > 0 {
		c.sendWindowUpdate(0, int(give), inline)
	}
}

// grantLocked returns the connection window to give back now, and counts
// it as given. The peer may hold at most connWin of credit plus unread
// bytes: DATA waiting in stream buffers keeps its credit until it is read,
// so a peer that fills streams nobody reads runs out of connection window,
// and the memory buffered for one connection stays below connWin. It
// gives back in steps of a quarter of the window. fmu is held.
func (c *conn) grantLocked() int64 {
	give := c.connWin - c.connRecvWin - c.unread
	if give < c.connWin/4 {
		return 0
	}
	c.connRecvWin += give
	return give
}

// sendBDPPing starts a bandwidth-delay sample (bdp.go); the frame reader
// calls it.
func (c *conn) sendBDPPing() {
	c.wmu.Lock()
	ok := c.controlLocked()
	if ok {
		c.writePingLocked(false, bdpPing)
		c.kickLocked()
	}
	c.wmu.Unlock()
	if !ok {
		c.bdp.sent = false
	}
}

// raiseWindows raises the receive windows to follow the bandwidth-delay
// estimate n (bdp.go): SETTINGS_INITIAL_WINDOW_SIZE for the streams, a
// WINDOW_UPDATE for the connection. The frame reader calls it.
func (c *conn) raiseWindows(n uint32) {
	sw := min(max(int64(n), defaultWindow), MaxStreamWindow)
	var settings bool
	c.mu.Lock()
	if old := c.streamWin.Load(); sw > old {
		// The peer adds the difference to the send window of every open
		// stream when it takes the SETTINGS (RFC 9113 section 6.9.2).
		c.streamWin.Store(sw)
		for _, s := range c.streams {
			s.mu.Lock()
			s.recvWin += sw - old
			s.mu.Unlock()
		}
		settings = true
	}
	c.mu.Unlock()
	var give int64
	c.fmu.Lock()
	if cw := min(int64(n), MaxConnWindow); cw > c.connWin {
		c.connWin = cw
		give = c.grantLocked()
	}
	c.fmu.Unlock()
	if !settings && give == 0 {
		return
	}
	c.wmu.Lock()
	if settings && c.controlLocked() {
		c.writeSettingsLocked(http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(sw)})
	}
	if give > 0 && c.controlLocked() {
		c.writeWindowUpdateLocked(0, uint32(give))
	}
	c.kickLocked()
	c.wmu.Unlock()
}

// remoteEnded records END_STREAM from the peer.
func (c *conn) remoteEnded(s *h2stream) {
	c.mu.Lock()
	s.remoteDone = true
	rst := false
	if !s.localDone && !s.endSending && !c.server {
		// The server answered in full: the request side is not needed
		// any more (as grpc-go, RST_STREAM NO_ERROR frees the stream).
		s.localDone = true
		if s.sendErr == nil {
			s.sendErr = errServerDone
		}
		rst = true
	}
	var remove, closeConn bool
	if s.localDone {
		remove = !s.removed
		closeConn = c.removeLocked(s)
	}
	c.mu.Unlock()
	if rst {
		c.sendRST(s.id, http2.ErrCodeNo, false)
	}
	if remove {
		s.releaseFlow(false)
		s.finish()
		c.signalIdle()
	}
	if closeConn {
		c.flushAndClose(errClosedByUser, goAwayFlushTimeout)
	}
}

// localEnded records that END_STREAM was sent (or the stream is given up
// on this side).
func (c *conn) localEnded(s *h2stream) {
	c.mu.Lock()
	s.localDone = true
	if s.sendErr == nil {
		s.sendErr = errStreamClosed
	}
	var remove, closeConn bool
	if s.remoteDone {
		remove = !s.removed
		closeConn = c.removeLocked(s)
	}
	c.mu.Unlock()
	if remove {
		s.releaseFlow(false)
		s.finish()
		c.signalIdle()
	}
	if closeConn {
		c.flushAndClose(errClosedByUser, goAwayFlushTimeout)
	}
}

func (c *conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	var (
		initWin    int64 = -1
		maxFrame   int   = -1
		maxStreams int64 = -1
		tableSize  int64 = -1
	)
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			initWin = int64(s.Val)
		case http2.SettingMaxFrameSize:
			maxFrame = int(s.Val)
		case http2.SettingMaxConcurrentStreams:
			maxStreams = int64(s.Val)
		case http2.SettingHeaderTableSize:
			tableSize = int64(s.Val)
		}
		return nil
	})
	if err != nil {
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			return connError{code: http2.ErrCode(ce), debug: "invalid setting"}
		}
		return connError{code: http2.ErrCodeProtocol, debug: err.Error()}
	}
	c.mu.Lock()
	if initWin >= 0 {
		delta := initWin - c.peerInitWin
		c.peerInitWin = initWin
		for _, s := range c.streams {
			s.sendWin += delta
			if s.sendWin > maxWindow {
				c.mu.Unlock()
				return connError{code: http2.ErrCodeFlowControl, debug: "stream window overflow"}
			}
		}
	}
	if maxStreams >= 0 && !c.server {
		c.peerMaxStreams = uint32(maxStreams)
	}
	c.cond.Broadcast()
	c.mu.Unlock()

	c.wmu.Lock()
	if maxFrame > 0 {
		c.peerMaxFrame = maxFrame
	}
	if tableSize >= 0 {
		c.henc.SetMaxDynamicTableSizeLimit(uint32(min(tableSize, 1<<16)))
		c.hmemo.invalidate() // it may evict, and the next block starts with the update
	}
	if c.controlLocked() {
		c.appendFrameHeader(0, http2.FrameSettings, http2.FlagSettingsAck, 0)
		c.kickLocked()
	}
	c.wmu.Unlock()

	if !c.gotSettings {
		c.gotSettings = true
		if c.settingsCh != nil {
			c.mu.Lock()
			if !c.gotSettingsLocked() {
				close(c.settingsCh)
			}
			c.mu.Unlock()
		}
	}
	return nil
}

func (c *conn) onPing(f *http2.PingFrame) error {
	if f.IsAck() {
		if c.server && f.Data == shutdownPing && !c.drainAcked {
			c.drainAcked = true
			close(c.drainAck)
		}
		if f.Data == bdpPing && c.bdp != nil {
			if n := c.bdp.acked(time.Now()); n > 0 {
				c.raiseWindows(n)
			}
		}
		return nil // any frame counts as keepalive activity
	}
	// A client measures the bandwidth-delay product with a PING when DATA
	// arrives (bdp.go): one such PING per batch of DATA written since the
	// last one is no strike. A client that sends them more often gets
	// strikes as for any other PING.
	if c.server && !(f.Data == bdpPing && c.bdpFree.Swap(false)) {
		now := time.Now()
		c.mu.Lock()
		n := len(c.streams)
		c.mu.Unlock()
		minGap := c.opts.minPingInterval
		if n == 0 && !c.opts.pingNoStreams {
			minGap = max(minGap, idlePingInterval)
		}
		if !c.lastPingAt.IsZero() && now.Sub(c.lastPingAt) < minGap {
			if c.pingStrikes.Add(1) > maxPingStrikes {
				return connError{code: http2.ErrCodeEnhanceYourCalm, debug: "too_many_pings"}
			}
		}
		c.lastPingAt = now
	}
	c.wmu.Lock()
	if c.controlLocked() {
		c.writePingLocked(true, f.Data)
		c.kickLocked()
	}
	c.wmu.Unlock()
	return nil
}

func (c *conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		c.mu.Lock()
		c.sendWin += inc
		over := c.sendWin > maxWindow
		c.cond.Broadcast()
		c.mu.Unlock()
		if over {
			return connError{code: http2.ErrCodeFlowControl, debug: "connection window overflow"}
		}
		return nil
	}
	c.mu.Lock()
	s := c.streams[f.StreamID]
	if s == nil {
		c.mu.Unlock()
		if c.idleID(f.StreamID) {
			return connError{code: http2.ErrCodeProtocol, debug: "WINDOW_UPDATE on idle stream"}
		}
		return nil
	}
	s.sendWin += inc
	over := s.sendWin > maxWindow
	c.cond.Broadcast()
	c.mu.Unlock()
	if over {
		return streamError{id: f.StreamID, code: http2.ErrCodeFlowControl}
	}
	return nil
}

func (c *conn) onRST(f *http2.RSTStreamFrame) error {
	s := c.lookup(f.StreamID)
	if s == nil && c.idleID(f.StreamID) {
		return connError{code: http2.ErrCodeProtocol, debug: "RST_STREAM on idle stream"}
	}
	if c.server && f.ErrCode != http2.ErrCodeNo {
		// Rapid reset: a token bucket bounds how fast streams may be reset
		// (streams refused or already ended count too: resetting them is
		// what such a client does). NO_ERROR is what clients send when the
		// response ended before the request: not counted.
		now := time.Now()
		if !c.rstLast.IsZero() {
			c.rstTokens = min(c.opts.resetBurst, c.rstTokens+now.Sub(c.rstLast).Seconds()*c.opts.resetRate)
		}
		c.rstLast = now
		c.rstTokens--
		if c.rstTokens < 0 {
			if s != nil {
				s.resetRemote(f.ErrCode)
			}
			return connError{code: http2.ErrCodeEnhanceYourCalm, debug: "too_many_resets"}
		}
	}
	if s != nil {
		s.resetRemote(f.ErrCode)
	}
	return nil
}

func (c *conn) onGoAway(f *http2.GoAwayFrame) error {
	if f.ErrCode != http2.ErrCodeNo {
		c.log.Debug("h2transport: peer sent GOAWAY", "remote", c.ec.RemoteAddr(), "code", f.ErrCode.String(), "debug", string(f.DebugData()))
	}
	if c.server {
		return nil // clients do not open server streams here
	}
	gerr := goAwayError(f.ErrCode, string(f.DebugData()))
	c.mu.Lock()
	c.goAway = true
	var refused []*h2stream
	for id, s := range c.streams {
		if id > f.LastStreamID {
			refused = append(refused, s)
		}
	}
	empty := len(c.streams) == len(refused)
	c.cond.Broadcast()
	c.mu.Unlock()
	for _, s := range refused {
		s.resetRemoteErr(gerr)
	}
	if empty {
		c.mu.Lock()
		empty = c.nactive == 0
		c.mu.Unlock()
		if empty {
			c.flushAndClose(errClosedByUser, goAwayFlushTimeout)
		}
	}
	return nil
}

// ---- keepalive ----

// startKeepalive pings the peer after interval without frames and closes
// the connection when timeout passes without one.
func (c *conn) startKeepalive(interval, timeout time.Duration, withoutStreams bool) {
	if interval <= 0 {
		return
	}
	c.kaTime, c.kaTimeout, c.kaIdle = interval, timeout, withoutStreams
	c.mu.Lock()
	if !c.closed {
		c.kaTimer = time.AfterFunc(interval, c.keepaliveTick)
	}
	c.mu.Unlock()
}

func (c *conn) keepaliveTick() {
	if c.isClosed() {
		return
	}
	if c.activity.Swap(false) {
		c.kaPinging = false
		c.kaReset(c.kaTime)
		return
	}
	if c.kaPinging {
		if left := c.kaTimeout - time.Since(c.kaPingAt); left > 0 {
			c.kaReset(left)
			return
		}
		c.log.Debug("h2transport: keepalive timeout", "remote", c.ec.RemoteAddr())
		c.close(errors.New("h2transport: keepalive ping not answered"))
		return
	}
	c.mu.Lock()
	n := c.nactive
	c.mu.Unlock()
	if n == 0 && !c.kaIdle {
		c.kaReset(c.kaTime)
		return
	}
	c.wmu.Lock()
	if c.werr == nil && !c.isClosed() {
		c.writePingLocked(false, [8]byte{'s', 'k', 'i', 'f', 'f', 'k', 'a', 0})
		c.kickLocked()
	}
	c.wmu.Unlock()
	c.kaPinging = true
	c.kaPingAt = time.Now()
	c.kaReset(min(c.kaTime, c.kaTimeout))
}

// kaReset schedules the next keepalive check.
func (c *conn) kaReset(d time.Duration) {
	c.mu.Lock()
	if !c.closed {
		c.kaTimer.Reset(d)
	}
	c.mu.Unlock()
}
