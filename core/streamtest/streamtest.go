package streamtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/core/transport"
)

// Params configures [Run]. The zero value is ready to use.
type Params struct {
	// Engines are the engines whose loopback TCP connections Run serves
	// and dials, the same engine on both ends; every check runs once per
	// engine, in a subtest named after it. Nil means
	// [engine.Default], and [engine.Std] too where that is another
	// engine.
	Engines []engine.Engine
	// Timeout bounds each wait for something the protocol must do (a
	// handler starting, data arriving, a stream or connection ending).
	// Zero means 10 seconds.
	Timeout time.Duration
	// Logger is given to the protocol's connections. Nil means a logger
	// that discards: Run panics in handlers and resets streams on purpose.
	Logger *slog.Logger
	// Skip names checks that Run skips (t.Skip), each with the reason:
	// known defects of the protocol that are being fixed, so that the
	// other checks keep running meanwhile. Names are those of the list on
	// [Run], such as "ServeResult". Nil skips nothing.
	Skip map[string]string
}

// defaultTimeout is Params.Timeout's default.
const defaultTimeout = 10 * time.Second

// A check is one subtest Run runs per engine.
type check struct {
	name string
	run  func(k *kit, t *testing.T)
}

var checks = []check{
	{"Detect", (*kit).detect},
	{"Headers", (*kit).headers},
	{"PseudoHeaders", (*kit).pseudoHeaders},
	{"TrailersOnly", (*kit).trailersOnly},
	{"Flush", (*kit).flush},
	{"Echo", (*kit).echo},
	{"Large", (*kit).large},
	{"ServerEndsFirst", (*kit).serverEndsFirst},
	{"Concurrent", (*kit).concurrent},
	{"Streams", (*kit).streams},
	{"ClientReset", (*kit).clientReset},
	{"ServerReset", (*kit).serverReset},
	{"ServerResetRead", (*kit).serverResetRead},
	{"HandlerReturns", (*kit).handlerReturns},
	{"HandlerPanics", (*kit).handlerPanics},
	{"Cancel", (*kit).cancel},
	{"Deadline", (*kit).deadline},
	{"ClientClose", (*kit).clientClose},
	{"ServerClose", (*kit).serverClose},
	{"Shutdown", (*kit).shutdown},
	{"ShutdownTimeout", (*kit).shutdownTimeout},
	{"ServeResult", (*kit).serveResult},
}

// Run checks that p follows the raw stream contract of
// [github.com/skiffrpc/skiff/core/stream], in subtests of t. "Name" checks
// that p.Name is not empty; the others run once per engine (see
// [Params]), each on a fresh loopback server, and end by closing every
// connection and checking that the server connections' Serve returned,
// that every stream handler returned, and that no goroutine remains
// ([leaktest.VerifyNone]). In every check, once a handler has returned its
// stream's Context must be done (the stream has ended). "An error" below
// means a non-nil error that is not io.EOF: what reading an aborted stream
// gives, as opposed to a stream the peer ended normally.
//
//   - Detect: p.Detect accepts the first [transport.DetectLen] bytes a
//     client connection sends, peeked as core/server peeks them (so a
//     client must send that many before it waits for the server), does
//     not panic on shorter prefixes, and rejects the
//     first bytes of Thrift Framed, Thrift Buffered and TTHeader
//     connections (servers sniff stream protocols first, so a protocol that
//     claimed them would take those connections).
//   - Headers: the handler's Header holds every field of the request header
//     block, ":path" included, with its values in order (repeated names
//     too); after CloseSend the handler reads io.EOF. The client's Header
//     holds the fields of WriteHeader, Read gives no data and then io.EOF,
//     and Trailer holds the fields of Close. The client stream's Context is
//     the context it was opened with.
//   - PseudoHeaders: the protocol adds one ":method" POST, one non-empty
//     ":scheme" and one ":authority", ClientConnParams.Authority unless the
//     request gives its own (which is kept); the client's response header
//     has one ":status" 200, after WriteHeader and in a trailers-only
//     response.
//   - TrailersOnly: a handler that calls Close without sending a header
//     block gives the client one header block holding the trailer fields;
//     Read returns io.EOF at once, and Trailer holds the trailer fields.
//   - Flush: after NewStream and a Flush with no data the handler starts; a
//     WriteHeader reaches the client's Header while the handler is still
//     reading; ten rounds of a small Write and Flush each way each arrive
//     before the other side answers; after CloseSend the handler reads
//     io.EOF; the client then reads io.EOF and the trailer.
//   - Echo: 1 MiB written by the client in irregular pieces (1 byte to
//     250,000) while it reads the echo in another goroutine, and echoed by
//     a handler that reads in one goroutine and writes and flushes in
//     another, comes back in order and intact; the handler received exactly
//     the bytes sent (length and SHA-256 in the trailer).
//   - Large: 1 MiB in one client Write and 1 MiB in one handler Write, each
//     more than any flow-control window, arrive intact.
//   - ServerEndsFirst: a handler that answers and calls Close while the
//     client's side is still open: the client reads the answer, io.EOF and
//     the trailer.
//   - Concurrent: 50 streams at once on one connection each echo their own
//     data (flushed in three pieces) and their own request field; Streams
//     is back to 0 afterwards.
//   - Streams: with three streams open Streams returns 3; it goes down by
//     one when a stream completes, when the client resets one and when the
//     server resets one.
//   - ClientReset: Reset, called twice from a goroutine other than the one
//     blocked in Read, makes that Read return an error; the handler's Read
//     returns an error and its Context is done; Streams returns to 0; the
//     connection still serves a new stream.
//   - ServerReset: a handler's Reset, called twice, makes the client's
//     blocked Header or Read return an error; Streams returns to 0; the
//     connection still serves a new stream.
//   - ServerResetRead: a handler's Reset, called twice while another
//     goroutine of the handler is blocked in Read, makes that Read return
//     an error, and the client's an error too.
//   - HandlerReturns: a handler that returns without Close or Reset resets
//     the stream: the client gets an error. The connection still serves.
//   - HandlerPanics: the protocol recovers a panicking handler and resets
//     its stream; Serve keeps running and the connection still serves. (A
//     protocol that does not recover crashes the test binary.)
//   - Cancel: canceling the context a stream was opened with resets it: the
//     client's blocked Read returns an error, the handler's Read returns an
//     error and its Context is done, Streams returns to 0, and the
//     connection still serves. Whether the error matches
//     [status.ErrCanceled] is logged, not required.
//   - Deadline: the same when the context's deadline passes; the client's
//     error comes no earlier than the deadline. Whether it matches
//     [status.ErrTimeout] is logged.
//   - ClientClose: after ClientConn.Close returns, Available is false,
//     NewStream fails with an error matching [status.ErrUnsent], the open
//     stream's blocked Read returns an error, the handler's Read returns an
//     error, and Streams returns to 0.
//   - ServerClose: ServerConn.Close makes the open stream's blocked reads
//     on both sides return errors and Serve return; the client connection
//     then becomes unavailable, and NewStream on it fails with an error
//     matching [status.ErrUnsent].
//   - Shutdown: while one stream is open, ServerConn.Shutdown serves no new
//     stream. Run waits up to a second for the client's Available to turn
//     false (and logs it if it does not); then a NewStream either fails with
//     an error matching [status.ErrUnsent] (it must, if Available was
//     false) or gives a stream that fails without reaching a handler. The
//     open stream carries on and completes, and Shutdown does not return
//     before that; then Shutdown and Serve return, the client connection
//     becomes unavailable, NewStream fails with an error matching
//     status.ErrUnsent, and Streams is 0.
//   - ShutdownTimeout: Shutdown with a stream still open returns once its
//     context is done, closing the connection: the blocked reads on both
//     sides of the stream return errors, Serve returns, the client
//     connection becomes unavailable and NewStream fails with an error
//     matching status.ErrUnsent.
//   - ServeResult: Serve returns nil after Close with a stream open, after
//     a Shutdown that waited for a stream to complete, after a Shutdown
//     whose context ended with a stream open, and after a Shutdown with no
//     stream open, each on its own connection.
//
// The protocol's connections get Params.Logger and, on the client,
// ClientConnParams.Authority set to the server's host:port.
func Run(t *testing.T, p stream.Protocol, prm Params) {
	t.Helper()
	if prm.Timeout <= 0 {
		prm.Timeout = defaultTimeout
	}
	if prm.Logger == nil {
		prm.Logger = slog.New(slog.DiscardHandler)
	}
	engines := prm.Engines
	if len(engines) == 0 {
		engines = []engine.Engine{engine.Default}
		if engine.Std.Name() != engine.Default.Name() {
			engines = append(engines, engine.Std)
		}
	}
	t.Run("Name", func(t *testing.T) {
		if p.Name() == "" {
			t.Error("Name() is empty")
		}
	})
	for _, eng := range engines {
		t.Run(eng.Name(), func(t *testing.T) {
			k := &kit{p: p, eng: eng, timeout: prm.Timeout, log: prm.Logger}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) {
					if why, ok := prm.Skip[c.name]; ok {
						t.Skip(why)
					}
					c.run(k, t)
				})
			}
		})
	}
}

// kit is Run's state for one engine.
type kit struct {
	p       stream.Protocol
	eng     engine.Engine
	timeout time.Duration
	log     *slog.Logger
}

// ---- fixture: a loopback server and its client connections ----

// handlerFunc serves one stream of a fixture's server.
type handlerFunc func(f *fixture, s stream.RawServerStream)

// fixture is one check's server, its connections and its goroutines.
type fixture struct {
	t        *testing.T
	k        *kit
	h        handlerFunc
	addr     string
	srv      engine.Server
	ln       net.Listener
	served   chan struct{}    // srv.Serve returned
	accepted chan *serverSide // server connections, as NewServerConn made them
	quit     chan struct{}    // closed when the check ends
	abortOne sync.Once

	mu       sync.Mutex
	sides    []*serverSide
	clients  []*clientSide
	running  int // goroutines started by spawn, handlers included
	closing  bool
	finished bool // the check has ended: nothing may log to t
}

// serverSide is one server connection.
type serverSide struct {
	sc     stream.ServerConn
	prefix []byte        // what Detect was given
	done   chan struct{} // Serve returned
	err    error         // what Serve returned, once done is closed
	closed bool          // Close or Shutdown returned; guarded by fixture.mu
}

// clientSide is one client connection.
type clientSide struct {
	cc     stream.ClientConn
	closed bool // Close returned; guarded by fixture.mu
}

// start serves k.p with h on a new loopback server. The check's cleanup
// closes everything and then checks for leaked goroutines.
func (k *kit) start(t *testing.T, h handlerFunc) *fixture {
	t.Helper()
	leakOpt := leaktest.IgnoreCurrent()
	t.Cleanup(func() { leaktest.VerifyNone(t, leakOpt) })
	f := &fixture{
		t: t, k: k, h: h,
		served:   make(chan struct{}),
		accepted: make(chan *serverSide, 64),
		quit:     make(chan struct{}),
	}
	srv, err := k.eng.NewServer(engine.ServerParams{Handler: (*connHandler)(f)})
	if err != nil {
		t.Fatalf("engine %s: NewServer: %v", k.eng.Name(), err)
	}
	ln, err := k.eng.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("engine %s: Listen: %v", k.eng.Name(), err)
	}
	f.srv, f.ln, f.addr = srv, ln, ln.Addr().String()
	go func() {
		defer close(f.served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(f.cleanup)
	return f
}

// connHandler is the engine.Handler of a fixture's server: it serves each
// connection as core/server does.
type connHandler fixture

func (h *connHandler) OnConnect(ctx context.Context, _ engine.Conn) context.Context { return ctx }

func (h *connHandler) OnDisconnect(context.Context, engine.Conn) {}

func (h *connHandler) OnRequest(_ context.Context, c engine.Conn) error {
	f := (*fixture)(h)
	prefix, err := peekPrefix(c.Reader())
	if err != nil {
		return err
	}
	ss := &serverSide{prefix: bytes.Clone(prefix), done: make(chan struct{})}
	sc, err := f.k.p.NewServerConn(c, stream.ServerConnParams{Handler: f.serveStream, Logger: f.k.log})
	if err != nil {
		f.errorf("NewServerConn: %v", err)
		return err
	}
	ss.sc = sc
	f.mu.Lock()
	f.sides = append(f.sides, ss)
	closing := f.closing
	f.mu.Unlock()
	if closing {
		_ = sc.Close()
	}
	select {
	case f.accepted <- ss:
	default:
	}
	ss.err = sc.Serve()
	close(ss.done)
	return net.ErrClosed
}

// peekPrefix returns the first bytes of a connection as core/server gives
// them to Detect.
func peekPrefix(r transport.Reader) ([]byte, error) {
	n := transport.DetectLen
	prefix, err := r.Peek(n)
	if err != nil {
		if l := r.Len(); l > 0 && l < n {
			prefix, err = r.Peek(l)
		}
	}
	return prefix, err
}

// serveStream is the ServerConnParams.Handler of every connection.
func (f *fixture) serveStream(s stream.RawServerStream) {
	f.mu.Lock()
	f.running++
	f.mu.Unlock()
	defer func() {
		// Runs while a handler panics too. The stream has ended (or the
		// protocol resets it now): its context must be done.
		f.spawn(func() {
			tm := time.NewTimer(f.k.timeout)
			defer tm.Stop()
			select {
			case <-s.Context().Done():
			case <-tm.C:
				f.errorf("the server stream's Context is not done %v after its handler returned (the stream has ended)", f.k.timeout)
			}
		})
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	f.h(f, s)
}

// spawn runs fn in a goroutine that the check's cleanup waits for.
func (f *fixture) spawn(fn func()) {
	f.mu.Lock()
	f.running++
	f.mu.Unlock()
	go func() {
		defer func() {
			f.mu.Lock()
			f.running--
			f.mu.Unlock()
		}()
		fn()
	}()
}

// errorf reports a failure from any goroutine while the check runs.
func (f *fixture) errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.finished {
		f.t.Errorf(format, args...)
	}
}

// dial opens a client connection and returns it with the server side.
func (f *fixture) dial() (stream.ClientConn, *serverSide) {
	f.t.Helper()
	c, err := f.k.eng.Dial("tcp", f.addr, f.k.timeout)
	if err != nil {
		f.t.Fatalf("engine %s: Dial %s: %v", f.k.eng.Name(), f.addr, err)
	}
	var cc stream.ClientConn
	err = f.do("NewClientConn to return", func() error {
		var err error
		cc, err = f.k.p.NewClientConn(c, stream.ClientConnParams{Authority: f.addr, Logger: f.k.log})
		if err != nil {
			_ = c.Close()
			return err
		}
		f.mu.Lock()
		f.clients = append(f.clients, &clientSide{cc: cc})
		closing := f.closing
		f.mu.Unlock()
		if closing {
			_ = cc.Close()
		}
		return nil
	})
	if err != nil {
		f.t.Fatalf("NewClientConn: %v", err)
	}
	ss := await(f, f.accepted, "the server to take the connection (NewServerConn)")
	return cc, ss
}

// closeClient closes cc as a check step.
func (f *fixture) closeClient(cc stream.ClientConn) error {
	f.t.Helper()
	err := f.do("ClientConn.Close to return", cc.Close)
	f.mu.Lock()
	for _, c := range f.clients {
		if c.cc == cc {
			c.closed = true
		}
	}
	f.mu.Unlock()
	return err
}

// markClosed records that ss was closed or shut down by a check step.
func (f *fixture) markClosed(ss *serverSide) {
	f.mu.Lock()
	ss.closed = true
	f.mu.Unlock()
}

// abort closes every connection (once), so that blocked calls return.
func (f *fixture) abort() {
	f.abortOne.Do(func() {
		f.mu.Lock()
		close(f.quit)
		f.closing = true
		clients := slices.Clone(f.clients)
		sides := slices.Clone(f.sides)
		f.mu.Unlock()
		for _, c := range clients {
			if !c.closed {
				_ = c.cc.Close()
			}
		}
		for _, ss := range sides {
			if !ss.closed {
				_ = ss.sc.Close()
			}
		}
	})
}

// cleanup ends the check: it closes everything and waits for the
// protocol's and the check's goroutines.
func (f *fixture) cleanup() {
	f.abort()
	f.mu.Lock()
	sides := slices.Clone(f.sides)
	f.mu.Unlock()
	for i, ss := range sides {
		if !f.within(ss.done) {
			f.errorf("server connection %d: Serve did not return within %v of Close", i, f.k.timeout)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.k.timeout)
	_ = f.srv.Shutdown(ctx)
	cancel()
	_ = f.ln.Close()
	if !f.within(f.served) {
		f.errorf("engine %s: the server's Serve did not return after Shutdown", f.k.eng.Name())
	}
	deadline := time.Now().Add(f.k.timeout)
	for {
		f.mu.Lock()
		n := f.running
		f.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			f.errorf("%d stream handlers (or the check's goroutines blocked in the protocol) still running %v after the connections were closed", n, f.k.timeout)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	f.mu.Lock()
	f.finished = true
	f.mu.Unlock()
}

// within reports whether ch is closed within the timeout.
func (f *fixture) within(ch <-chan struct{}) bool {
	tm := time.NewTimer(f.k.timeout)
	defer tm.Stop()
	select {
	case <-ch:
		return true
	case <-tm.C:
		return false
	}
}

// await returns the next value of ch, failing the check if none comes
// within the timeout.
func await[T any](f *fixture, ch <-chan T, what string) T {
	f.t.Helper()
	tm := time.NewTimer(f.k.timeout)
	defer tm.Stop()
	select {
	case v := <-ch:
		return v
	case <-tm.C:
		f.t.Fatalf("timed out after %v waiting for %s", f.k.timeout, what)
		panic("unreachable")
	}
}

// do runs fn in another goroutine and returns its error, failing the check
// if fn takes longer than the timeout (the check's cleanup then closes the
// connections, which must unblock it).
func (f *fixture) do(what string, fn func() error) error {
	f.t.Helper()
	ch := make(chan error, 1)
	f.spawn(func() { ch <- fn() })
	return await(f, ch, what)
}

// eventually waits until cond holds, reporting a failure (what, then
// state's description of how things stand) if it does not within the
// timeout.
func (f *fixture) eventually(what string, cond func() bool, state func() string) bool {
	f.t.Helper()
	deadline := time.Now().Add(f.k.timeout)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Errorf("%s: not so after %v (%s)", what, f.k.timeout, state())
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// streamsBackTo waits until cc.Streams() is n.
func (f *fixture) streamsBackTo(cc stream.ClientConn, n int, after string) {
	f.t.Helper()
	f.eventually(fmt.Sprintf("ClientConn.Streams() = %d %s", n, after), func() bool { return cc.Streams() == n },
		func() string { return fmt.Sprintf("Streams() = %d", cc.Streams()) })
}

// unavailable waits until cc.Available() is false.
func (f *fixture) unavailable(cc stream.ClientConn, after string) bool {
	f.t.Helper()
	return f.eventually("ClientConn.Available() = false "+after, func() bool { return !cc.Available() },
		func() string { return "Available() = true" })
}

// ---- shared pieces ----

const (
	pathPrefix  = "/streamtest.Kit/"
	contentType = "application/streamtest"
	indexField  = "x-streamtest-index"
	lengthField = "x-streamtest-length"
	sha256Field = "x-streamtest-sha256"
	bigSize     = 1 << 20
)

// request returns a request header block for method.
func request(method string, extra ...stream.Field) stream.Header {
	h := stream.Header{{Name: ":path", Value: pathPrefix + method}, {Name: "content-type", Value: contentType}}
	return append(h, extra...)
}

// methodOf returns the method a server stream's ":path" names.
func methodOf(s stream.RawServerStream) string {
	return strings.TrimPrefix(s.Header().Get(":path"), pathPrefix)
}

// aborted reports whether err is what a read of an aborted stream must
// return: an error, and not io.EOF.
func aborted(err error) bool { return err != nil && err != io.EOF }

// pattern returns n pseudo-random bytes determined by seed.
func pattern(seed uint64, n int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// digest returns the hex SHA-256 of b.
func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// diff describes where got differs from want.
func diff(got, want []byte) string {
	n := min(len(got), len(want))
	for i := range n {
		if got[i] != want[i] {
			return fmt.Sprintf("%d bytes, want %d; first difference at byte %d", len(got), len(want), i)
		}
	}
	return fmt.Sprintf("%d bytes, want %d; equal up to there", len(got), len(want))
}

// readUntilError reads r until it returns an error, and returns that error
// (io.EOF for a stream ended normally).
func readUntilError(r io.Reader) error {
	buf := make([]byte, 4<<10)
	for {
		if _, err := r.Read(buf); err != nil {
			return err
		}
	}
}

// readClient waits for cs's response header and reads it to its end: the
// way a client ends a stream normally. It returns the data and the error
// that ended it (nil at io.EOF).
func readClient(cs stream.RawClientStream) ([]byte, error) {
	if _, err := cs.Header(); err != nil {
		return nil, err
	}
	return io.ReadAll(cs)
}

// clientEndError waits for cs's response and reads it until an error, and
// returns the error (io.EOF if the server ended the stream normally).
func clientEndError(cs stream.RawClientStream) error {
	if _, err := cs.Header(); err != nil {
		return err
	}
	return readUntilError(cs)
}

// writeChunks writes data to w in pieces of the given sizes (cycling).
func writeChunks(w io.Writer, data []byte, sizes []int) error {
	for i := 0; len(data) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(data))
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// checkFields reports every name of want whose values in got differ.
func checkFields(t *testing.T, what string, got, want stream.Header) {
	t.Helper()
	var seen []string
	for _, f := range want {
		if slices.Contains(seen, f.Name) {
			continue
		}
		seen = append(seen, f.Name)
		if g, w := got.Values(f.Name), want.Values(f.Name); !slices.Equal(g, w) {
			t.Errorf("%s: %s = %q, want %q (whole block: %v)", what, f.Name, g, w, got)
		}
	}
}

// echoHandler echoes a stream's data, flushing every piece, and ends it
// with a trailer holding the request's index field and the length and
// SHA-256 of what it read.
func echoHandler(f *fixture, s stream.RawServerStream) {
	buf := make([]byte, 32<<10)
	h := sha256.New()
	total := 0
	for {
		n, err := s.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			total += n
			if _, werr := s.Write(buf[:n]); werr != nil {
				f.errorf("echo handler: Write: %v", werr)
				s.Reset(stream.CodeInternal)
				return
			}
			if werr := s.Flush(); werr != nil {
				f.errorf("echo handler: Flush: %v", werr)
				s.Reset(stream.CodeInternal)
				return
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			f.errorf("echo handler: Read after %d bytes: %v", total, err)
			s.Reset(stream.CodeInternal)
			return
		}
	}
	tr := stream.Header{
		{Name: indexField, Value: s.Header().Get(indexField)},
		{Name: lengthField, Value: strconv.Itoa(total)},
		{Name: sha256Field, Value: hex.EncodeToString(h.Sum(nil))},
	}
	if err := s.Close(tr); err != nil {
		f.errorf("echo handler: Close: %v", err)
	}
}

// echoOnce runs one stream of echoHandler on cc with its own data (three
// flushed pieces) and checks the echo and the trailer.
func (f *fixture) echoOnce(cc stream.ClientConn, i int) error {
	data := pattern(uint64(i)+100, 8<<10+i*997)
	idx := strconv.Itoa(i)
	cs, err := cc.NewStream(context.Background(), request("Echo", stream.Field{Name: indexField, Value: idx}))
	if err != nil {
		return fmt.Errorf("stream %d: NewStream: %w", i, err)
	}
	werr := make(chan error, 1)
	f.spawn(func() {
		third := len(data) / 3
		for _, piece := range [][]byte{data[:third], data[third : 2*third], data[2*third:]} {
			if _, err := cs.Write(piece); err != nil {
				werr <- fmt.Errorf("Write: %w", err)
				return
			}
			if err := cs.Flush(); err != nil {
				werr <- fmt.Errorf("Flush: %w", err)
				return
			}
		}
		werr <- cs.CloseSend()
	})
	got, err := readClient(cs)
	if err != nil {
		cs.Reset(stream.CodeCancel)
		<-werr
		return fmt.Errorf("stream %d: reading the echo: %w", i, err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("stream %d: sending: %w", i, err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("stream %d: the echo has %s", i, diff(got, data))
	}
	if tr := cs.Trailer(); tr.Get(indexField) != idx || tr.Get(lengthField) != strconv.Itoa(len(data)) {
		return fmt.Errorf("stream %d: trailer %v, want %s %s and %s %d", i, tr, indexField, idx, lengthField, len(data))
	}
	return nil
}

// stillServes checks that cc still serves a new stream.
func (f *fixture) stillServes(cc stream.ClientConn, after string) {
	f.t.Helper()
	if err := f.do("an echo stream "+after, func() error { return f.echoOnce(cc, 1) }); err != nil {
		f.t.Errorf("the connection no longer serves streams %s: %v", after, err)
	}
}

// ---- checks ----

// foreign are the first bytes of connections of Skiff's other transports.
var foreign = []struct {
	name   string
	prefix []byte
}{
	{"Thrift Framed", []byte{0, 0, 0, 0x1c, 0x80, 0x01, 0x00, 0x01}},
	{"Thrift Buffered", []byte{0x80, 0x01, 0x00, 0x01, 0, 0, 0, 4}},
	{"TTHeader", []byte{0, 0, 0, 0x1c, 0x0f, 0xff, 0, 0}},
}

// detectSafely calls p.Detect, turning a panic into an error.
func detectSafely(p stream.Protocol, prefix []byte) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return p.Detect(prefix), nil
}

func (k *kit) detect(t *testing.T) {
	f := k.start(t, echoHandler)
	_, ss := f.dial()
	prefix := ss.prefix
	if ok, err := detectSafely(k.p, bytes.Clone(prefix)); err != nil || !ok {
		t.Errorf("Detect(%x) = false (err %v) for the first %d bytes a client connection sent", prefix, err, len(prefix))
	}
	for i := range len(prefix) {
		if _, err := detectSafely(k.p, bytes.Clone(prefix[:i])); err != nil {
			t.Errorf("Detect of the first %d bytes: %v", i, err)
		}
	}
	for _, fp := range foreign {
		if ok, err := detectSafely(k.p, bytes.Clone(fp.prefix)); err != nil || ok {
			t.Errorf("Detect(%x) = %v (err %v) for the start of a %s connection, want false", fp.prefix, ok, err, fp.name)
		}
	}
}

// ctxKey keys the value by which Headers recognises a stream's context.
type ctxKey struct{}

func (k *kit) headers(t *testing.T) {
	reqs := make(chan stream.Header, 2)
	resp := stream.Header{
		{Name: "content-type", Value: contentType},
		{Name: "x-streamtest-response", Value: "r1"},
		{Name: "x-streamtest-multi", Value: "1"},
		{Name: "x-streamtest-multi", Value: "2"},
	}
	trailer := stream.Header{
		{Name: "x-streamtest-trailer", Value: "t1"},
		{Name: "x-streamtest-multi", Value: "3"},
		{Name: "x-streamtest-multi", Value: "4"},
	}
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		reqs <- slices.Clone(s.Header())
		if err := s.WriteHeader(resp); err != nil {
			f.errorf("WriteHeader: %v", err)
			s.Reset(stream.CodeInternal)
			return
		}
		if err := readUntilError(s); err != io.EOF {
			f.errorf("the handler's Read returned %v, want io.EOF after the client's CloseSend", err)
			s.Reset(stream.CodeInternal)
			return
		}
		if err := s.Close(trailer); err != nil {
			f.errorf("Close: %v", err)
		}
	})
	cc, _ := f.dial()
	ctx := context.WithValue(context.Background(), ctxKey{}, "streamtest")
	req := request("Headers",
		stream.Field{Name: "x-streamtest-one", Value: "1"},
		stream.Field{Name: "x-streamtest-multi", Value: "a"},
		stream.Field{Name: "x-streamtest-multi", Value: "b"},
		stream.Field{Name: "x-streamtest-punct", Value: "a b,c;d=e/f"},
		stream.Field{Name: "x-streamtest-long", Value: strings.Repeat("0123456789abcdef", 64)},
	)
	cs, err := cc.NewStream(ctx, slices.Clone(req))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	if v, _ := cs.Context().Value(ctxKey{}).(string); v != "streamtest" {
		t.Errorf("the client stream's Context is not the context it was opened with")
	}
	if err := f.do("CloseSend to return", cs.CloseSend); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	got := await(f, reqs, "the handler to start")
	checkFields(t, "the handler's request header", got, req)
	var hdr stream.Header
	if err := f.do("the response header", func() (err error) { hdr, err = cs.Header(); return err }); err != nil {
		t.Fatalf("Header: %v", err)
	}
	checkFields(t, "the client's response header", hdr, resp)
	var body []byte
	if err := f.do("the response to end", func() (err error) { body, err = io.ReadAll(cs); return err }); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(body) != 0 {
		t.Errorf("the client read %d bytes of data, want none", len(body))
	}
	checkFields(t, "the client's trailer", cs.Trailer(), trailer)
}

func (k *kit) pseudoHeaders(t *testing.T) {
	reqs := make(chan stream.Header, 1)
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		reqs <- slices.Clone(s.Header())
		if err := readUntilError(s); err != io.EOF {
			f.errorf("the handler's Read returned %v, want io.EOF after the client's CloseSend", err)
		}
		if methodOf(s) != "TrailersOnly" {
			if err := s.WriteHeader(nil); err != nil {
				f.errorf("WriteHeader: %v", err)
			}
		}
		if err := s.Close(stream.Header{{Name: "x-streamtest-trailer", Value: "t"}}); err != nil {
			f.errorf("Close: %v", err)
		}
	})
	cc, _ := f.dial()
	// open sends a request and returns the handler's request header and
	// the client's response header.
	open := func(h stream.Header) (req, resp stream.Header) {
		t.Helper()
		cs, err := cc.NewStream(context.Background(), h)
		if err != nil {
			t.Fatalf("NewStream: %v", err)
		}
		if err := f.do("CloseSend to return", cs.CloseSend); err != nil {
			t.Fatalf("CloseSend: %v", err)
		}
		req = await(f, reqs, "the handler to start")
		if err := f.do("the response", func() (err error) {
			if resp, err = cs.Header(); err != nil {
				return err
			}
			_, err = io.ReadAll(cs)
			return err
		}); err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		return req, resp
	}

	req, resp := open(request("Pseudo"))
	if v := req.Values(":path"); !slices.Equal(v, []string{pathPrefix + "Pseudo"}) {
		t.Errorf("the handler's request header has :path %q, want [%q]; block %v", v, pathPrefix+"Pseudo", req)
	}
	if v := req.Values(":method"); !slices.Equal(v, []string{"POST"}) {
		t.Errorf("the handler's request header has :method %q, want [POST] (added by the protocol); block %v", v, req)
	}
	if v := req.Values(":scheme"); len(v) != 1 || v[0] == "" {
		t.Errorf("the handler's request header has :scheme %q, want one (added by the protocol); block %v", v, req)
	}
	if v := req.Values(":authority"); !slices.Equal(v, []string{f.addr}) {
		t.Errorf("the handler's request header has :authority %q, want [%q] from ClientConnParams.Authority; block %v", v, f.addr, req)
	}
	if v := resp.Values(":status"); !slices.Equal(v, []string{"200"}) {
		t.Errorf("the client's response header has :status %q, want [200] (added by WriteHeader); block %v", v, resp)
	}

	const authority = "streamtest.example:443"
	req, _ = open(request("Authority", stream.Field{Name: ":authority", Value: authority}))
	if v := req.Values(":authority"); !slices.Equal(v, []string{authority}) {
		t.Errorf("the request gave :authority %q; the handler's request header has %q", authority, v)
	}

	_, resp = open(request("TrailersOnly"))
	if v := resp.Values(":status"); !slices.Equal(v, []string{"200"}) {
		t.Errorf("the header block of a trailers-only response has :status %q, want [200]; block %v", v, resp)
	}
}

func (k *kit) trailersOnly(t *testing.T) {
	trailer := stream.Header{{Name: "x-streamtest-trailer", Value: "only"}, {Name: "x-streamtest-multi", Value: "1"}, {Name: "x-streamtest-multi", Value: "2"}}
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		if err := readUntilError(s); err != io.EOF {
			f.errorf("the handler's Read returned %v, want io.EOF after CloseSend", err)
		}
		if err := s.Close(trailer); err != nil {
			f.errorf("Close: %v", err)
		}
	})
	cc, _ := f.dial()
	cs, err := cc.NewStream(context.Background(), request("TrailersOnly"))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	if err := f.do("CloseSend to return", cs.CloseSend); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	var hdr stream.Header
	if err := f.do("the response header", func() (err error) { hdr, err = cs.Header(); return err }); err != nil {
		t.Fatalf("Header of a trailers-only response: %v", err)
	}
	checkFields(t, "the header block of a trailers-only response", hdr, trailer)
	var n int
	err = f.do("Read", func() (err error) { n, err = cs.Read(make([]byte, 16)); return err })
	if n != 0 || err != io.EOF {
		t.Errorf("Read after a trailers-only response = %d, %v; want 0, io.EOF at once", n, err)
	}
	checkFields(t, "the trailer of a trailers-only response", cs.Trailer(), trailer)
}

func (k *kit) flush(t *testing.T) {
	const rounds = 10
	ping := func(i int) []byte { return []byte(fmt.Sprintf("ping %d %s", i, strings.Repeat("p", i))) }
	pong := func(i int) []byte { return []byte(fmt.Sprintf("pong %d %s", i, strings.Repeat("q", 2*i))) }
	started := make(chan struct{}, 1)
	trailer := stream.Header{{Name: "x-streamtest-rounds", Value: strconv.Itoa(rounds)}}
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		started <- struct{}{}
		if err := s.WriteHeader(stream.Header{{Name: "x-streamtest-early", Value: "1"}}); err != nil {
			f.errorf("WriteHeader: %v", err)
			s.Reset(stream.CodeInternal)
			return
		}
		for i := range rounds {
			want := ping(i)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(s, got); err != nil || !bytes.Equal(got, want) {
				f.errorf("round %d: the handler read %q, %v; want %q, which the client wrote and flushed", i, got, err, want)
				s.Reset(stream.CodeInternal)
				return
			}
			if _, err := s.Write(pong(i)); err != nil {
				f.errorf("round %d: Write: %v", i, err)
				s.Reset(stream.CodeInternal)
				return
			}
			if err := s.Flush(); err != nil {
				f.errorf("round %d: Flush: %v", i, err)
				s.Reset(stream.CodeInternal)
				return
			}
		}
		if n, err := s.Read(make([]byte, 16)); n != 0 || err != io.EOF {
			f.errorf("after CloseSend the handler's Read = %d, %v; want 0, io.EOF", n, err)
		}
		if err := s.Close(trailer); err != nil {
			f.errorf("Close: %v", err)
		}
	})
	cc, _ := f.dial()
	cs, err := cc.NewStream(context.Background(), request("Flush"))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	if err := f.do("Flush to return", cs.Flush); err != nil {
		t.Fatalf("Flush with no data: %v", err)
	}
	await(f, started, "the handler to start after NewStream and a Flush")
	var hdr stream.Header
	if err := f.do("the response header (sent by WriteHeader, while the handler waits for data)", func() (err error) {
		hdr, err = cs.Header()
		return err
	}); err != nil {
		t.Fatalf("Header: %v", err)
	}
	if v := hdr.Get("x-streamtest-early"); v != "1" {
		t.Errorf("the response header has x-streamtest-early %q, want 1; block %v", v, hdr)
	}
	for i := range rounds {
		err := f.do(fmt.Sprintf("round %d: the handler's answer to a flushed write", i), func() error {
			if _, err := cs.Write(ping(i)); err != nil {
				return fmt.Errorf("Write: %w", err)
			}
			if err := cs.Flush(); err != nil {
				return fmt.Errorf("Flush: %w", err)
			}
			want := pong(i)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(cs, got); err != nil {
				return fmt.Errorf("reading the answer: %w", err)
			}
			if !bytes.Equal(got, want) {
				return fmt.Errorf("read %q, want %q", got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	if err := f.do("CloseSend to return", cs.CloseSend); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	var rest []byte
	if err := f.do("the response to end", func() (err error) { rest, err = io.ReadAll(cs); return err }); err != nil {
		t.Fatalf("Read after the last round: %v", err)
	}
	if len(rest) != 0 {
		t.Errorf("the client read %d more bytes after the last round, want none", len(rest))
	}
	checkFields(t, "the trailer", cs.Trailer(), trailer)
}

// echoWriteSizes and echoReadSizes are the irregular pieces of Echo.
var (
	echoWriteSizes = []int{1, 7, 100, 1000, 4096, 16383, 16384, 16385, 65535, 65536, 65537, 100000, 250000}
	echoReadSizes  = []int{1, 13, 512, 4096, 32768, 70000}
)

func (k *kit) echo(t *testing.T) {
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		// One goroutine reads, this one writes.
		pieces := make(chan []byte, 8)
		var rerr error
		f.spawn(func() {
			defer close(pieces)
			for i := 0; ; i++ {
				buf := make([]byte, echoReadSizes[i%len(echoReadSizes)])
				n, err := s.Read(buf)
				if n > 0 {
					pieces <- buf[:n]
				}
				if err != nil {
					if err != io.EOF {
						rerr = err
					}
					return
				}
			}
		})
		h := sha256.New()
		total := 0
		var werr error
		for b := range pieces {
			h.Write(b)
			total += len(b)
			if werr == nil {
				if _, werr = s.Write(b); werr == nil {
					werr = s.Flush()
				}
			}
		}
		if rerr != nil || werr != nil {
			f.errorf("echo handler: after %d bytes: Read: %v; Write or Flush: %v", total, rerr, werr)
			s.Reset(stream.CodeInternal)
			return
		}
		tr := stream.Header{{Name: lengthField, Value: strconv.Itoa(total)}, {Name: sha256Field, Value: hex.EncodeToString(h.Sum(nil))}}
		if err := s.Close(tr); err != nil {
			f.errorf("Close: %v", err)
		}
	})
	cc, _ := f.dial()
	data := pattern(1, bigSize)
	cs, err := cc.NewStream(context.Background(), request("Echo"))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	werr := make(chan error, 1)
	f.spawn(func() {
		if err := writeChunks(cs, data, echoWriteSizes); err != nil {
			werr <- fmt.Errorf("Write: %w", err)
			return
		}
		werr <- cs.CloseSend()
	})
	var got []byte
	if err := f.do("the 1 MiB echo", func() (err error) { got, err = readClient(cs); return err }); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := await(f, werr, "the writes and CloseSend to return"); err != nil {
		t.Errorf("sending: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("the echo has %s", diff(got, data))
	}
	tr := cs.Trailer()
	if tr.Get(lengthField) != strconv.Itoa(len(data)) || tr.Get(sha256Field) != digest(data) {
		t.Errorf("the handler read %s bytes with SHA-256 %s; the client sent %d with %s",
			tr.Get(lengthField), tr.Get(sha256Field), len(data), digest(data))
	}
}

// transform is the answer of the Large handler to a request body.
func transform(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[len(b)-1-i] = c ^ 0xa5
	}
	return out
}

func (k *kit) large(t *testing.T) {
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		req, err := io.ReadAll(s)
		if err != nil {
			f.errorf("the handler's Read after %d bytes: %v", len(req), err)
			s.Reset(stream.CodeInternal)
			return
		}
		if _, err := s.Write(transform(req)); err != nil {
			f.errorf("the handler's Write of %d bytes: %v", len(req), err)
			s.Reset(stream.CodeInternal)
			return
		}
		tr := stream.Header{{Name: lengthField, Value: strconv.Itoa(len(req))}, {Name: sha256Field, Value: digest(req)}}
		if err := s.Close(tr); err != nil {
			f.errorf("Close: %v", err)
		}
	})
	cc, _ := f.dial()
	data := pattern(2, bigSize)
	cs, err := cc.NewStream(context.Background(), request("Large"))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	werr := make(chan error, 1)
	f.spawn(func() {
		if _, err := cs.Write(data); err != nil {
			werr <- fmt.Errorf("Write: %w", err)
			return
		}
		werr <- cs.CloseSend()
	})
	var got []byte
	if err := f.do("the 1 MiB response", func() (err error) { got, err = readClient(cs); return err }); err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	if err := await(f, werr, "the 1 MiB Write and CloseSend to return"); err != nil {
		t.Errorf("sending: %v", err)
	}
	if want := transform(data); !bytes.Equal(got, want) {
		t.Errorf("the response has %s", diff(got, want))
	}
	tr := cs.Trailer()
	if tr.Get(lengthField) != strconv.Itoa(len(data)) || tr.Get(sha256Field) != digest(data) {
		t.Errorf("the handler read %s bytes with SHA-256 %s; the client sent %d with %s",
			tr.Get(lengthField), tr.Get(sha256Field), len(data), digest(data))
	}
}

func (k *kit) serverEndsFirst(t *testing.T) {
	trailer := stream.Header{{Name: "x-streamtest-trailer", Value: "early"}}
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		got := make([]byte, 5)
		if _, err := io.ReadFull(s, got); err != nil || string(got) != "hello" {
			f.errorf("the handler read %q, %v; want hello", got, err)
			s.Reset(stream.CodeInternal)
			return
		}
		if _, err := s.Write([]byte("bye")); err != nil {
			f.errorf("Write: %v", err)
			s.Reset(stream.CodeInternal)
			return
		}
		if err := s.Close(trailer); err != nil {
			f.errorf("Close while the client's side is open: %v", err)
		}
	})
	cc, _ := f.dial()
	cs, err := cc.NewStream(context.Background(), request("ServerEndsFirst"))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	var got []byte
	err = f.do("the response", func() (err error) {
		if _, err := cs.Write([]byte("hello")); err != nil {
			return fmt.Errorf("Write: %w", err)
		}
		if err := cs.Flush(); err != nil {
			return fmt.Errorf("Flush: %w", err)
		}
		got, err = readClient(cs)
		return err
	})
	if err != nil {
		t.Fatalf("with the client's side open: %v", err)
	}
	if string(got) != "bye" {
		t.Errorf("the client read %q, want bye", got)
	}
	checkFields(t, "the trailer", cs.Trailer(), trailer)
	_ = f.do("CloseSend to return", cs.CloseSend) // after the server's end: any result
	f.streamsBackTo(cc, 0, "after the stream ended")
}

func (k *kit) concurrent(t *testing.T) {
	const n = 50
	f := k.start(t, echoHandler)
	cc, _ := f.dial()
	errs := make(chan error, n)
	for i := range n {
		f.spawn(func() { errs <- f.echoOnce(cc, i) })
	}
	for range n {
		if err := await(f, errs, fmt.Sprintf("%d concurrent echo streams", n)); err != nil {
			t.Error(err)
		}
	}
	f.streamsBackTo(cc, 0, "after every stream ended")
}

func (k *kit) streams(t *testing.T) {
	started := make(chan int, 3)
	actions := [3]chan string{make(chan string, 1), make(chan string, 1), make(chan string, 1)}
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		i, _ := strconv.Atoi(s.Header().Get(indexField))
		if i < 0 || i > 2 {
			s.Reset(stream.CodeInternal)
			return
		}
		started <- i
		var action string
		select {
		case action = <-actions[i]:
		case <-f.quit:
			s.Reset(stream.CodeInternal)
			return
		}
		switch action {
		case "complete":
			_ = readUntilError(s)
			if err := s.Close(nil); err != nil {
				f.errorf("Close: %v", err)
			}
		case "await reset":
			_ = readUntilError(s)
		case "reset":
			s.Reset(stream.CodeInternal)
		}
	})
	cc, _ := f.dial()
	var css [3]stream.RawClientStream
	for i := range css {
		cs, err := cc.NewStream(context.Background(), request("Streams", stream.Field{Name: indexField, Value: strconv.Itoa(i)}))
		if err != nil {
			t.Fatalf("NewStream %d: %v", i, err)
		}
		if err := f.do("Flush to return", cs.Flush); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		css[i] = cs
	}
	for range css {
		await(f, started, "three handlers to start")
	}
	if got := cc.Streams(); got != 3 {
		t.Errorf("Streams() = %d with three streams open, want 3", got)
	}

	actions[0] <- "complete"
	if err := f.do("a stream to complete", func() error {
		if err := css[0].CloseSend(); err != nil {
			return fmt.Errorf("CloseSend: %w", err)
		}
		_, err := readClient(css[0])
		return err
	}); err != nil {
		t.Fatalf("stream 0: %v", err)
	}
	f.streamsBackTo(cc, 2, "after one of three streams completed")

	actions[1] <- "await reset"
	css[1].Reset(stream.CodeCancel)
	f.streamsBackTo(cc, 1, "after the client reset one of two streams")

	actions[2] <- "reset"
	if err := f.do("the server's reset to reach the client", func() error { return clientEndError(css[2]) }); !aborted(err) {
		t.Errorf("after the handler's Reset the client read %v, want an error", err)
	}
	f.streamsBackTo(cc, 0, "after the server reset the last stream")
}

// idleHandler is the handler of the checks that end an open stream from
// outside: it reports the stream on started (once it has read the client's
// first byte) and then the error its Read ends with on readErr. It echoes
// method Echo and ends streams of other methods at once.
func idleHandler(started chan<- stream.RawServerStream, readErr chan<- error) handlerFunc {
	return func(f *fixture, s stream.RawServerStream) {
		switch methodOf(s) {
		case "Echo":
			echoHandler(f, s)
			return
		case "Idle":
		default:
			_ = s.Close(nil)
			return
		}
		var b [1]byte
		if _, err := io.ReadFull(s, b[:]); err != nil {
			f.errorf("the handler could not read the client's first byte: %v", err)
			s.Reset(stream.CodeInternal)
			return
		}
		started <- s
		readErr <- readUntilError(s)
	}
}

// openIdle opens a stream on cc for idleHandler with ctx, waits for the
// handler, and starts a client goroutine blocked in Header and Read, whose
// final error arrives on the returned channel.
func (f *fixture) openIdle(ctx context.Context, cc stream.ClientConn, started <-chan stream.RawServerStream) (stream.RawClientStream, stream.RawServerStream, <-chan error) {
	f.t.Helper()
	cs, err := cc.NewStream(ctx, request("Idle"))
	if err != nil {
		f.t.Fatalf("NewStream: %v", err)
	}
	if err := f.do("Write and Flush to return", func() error {
		if _, err := cs.Write([]byte{1}); err != nil {
			return err
		}
		return cs.Flush()
	}); err != nil {
		f.t.Fatalf("Write and Flush: %v", err)
	}
	ss := await(f, started, "the handler to start and read the first byte")
	clientErr := make(chan error, 1)
	f.spawn(func() { clientErr <- clientEndError(cs) })
	return cs, ss, clientErr
}

// contextDone checks that the server stream's Context is done.
func (f *fixture) contextDone(s stream.RawServerStream, why string) {
	f.t.Helper()
	if !f.within(s.Context().Done()) {
		f.t.Errorf("the server stream's Context is not done %v after %s", f.k.timeout, why)
	}
}

func (k *kit) clientReset(t *testing.T) {
	started, srvErr := make(chan stream.RawServerStream, 1), make(chan error, 1)
	f := k.start(t, idleHandler(started, srvErr))
	cc, _ := f.dial()
	cs, ss, clientErr := f.openIdle(context.Background(), cc, started)
	time.Sleep(10 * time.Millisecond) // let the client goroutine block in Read
	cs.Reset(stream.CodeCancel)
	cs.Reset(stream.CodeCancel)
	if err := await(f, clientErr, "the client's blocked Read to return after Reset"); !aborted(err) {
		t.Errorf("after Reset the client's blocked Read returned %v, want an error", err)
	}
	if err := await(f, srvErr, "the handler's Read to return after the client's Reset"); !aborted(err) {
		t.Errorf("after the client's Reset the handler's Read returned %v, want an error", err)
	}
	f.contextDone(ss, "the client reset the stream")
	f.streamsBackTo(cc, 0, "after Reset")
	f.stillServes(cc, "after the client reset a stream")
}

func (k *kit) serverReset(t *testing.T) {
	started := make(chan stream.RawServerStream, 1)
	resetNow := make(chan struct{})
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		if methodOf(s) == "Echo" {
			echoHandler(f, s)
			return
		}
		var b [1]byte
		if _, err := io.ReadFull(s, b[:]); err != nil {
			f.errorf("the handler could not read the client's first byte: %v", err)
			s.Reset(stream.CodeInternal)
			return
		}
		started <- s
		select {
		case <-resetNow:
		case <-f.quit:
		}
		s.Reset(stream.CodeInternal)
		s.Reset(stream.CodeInternal)
	})
	cc, _ := f.dial()
	_, _, clientErr := f.openIdle(context.Background(), cc, started)
	close(resetNow)
	if err := await(f, clientErr, "the client's Header or Read to return after the handler's Reset"); !aborted(err) {
		t.Errorf("after the handler's Reset the client read %v, want an error", err)
	}
	f.streamsBackTo(cc, 0, "after the server reset the stream")
	f.stillServes(cc, "after the server reset a stream")
}

func (k *kit) serverResetRead(t *testing.T) {
	srvErr := make(chan error, 1)
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		var b [1]byte
		if _, err := io.ReadFull(s, b[:]); err != nil {
			f.errorf("the handler could not read the client's first byte: %v", err)
			s.Reset(stream.CodeInternal)
			return
		}
		f.spawn(func() { srvErr <- readUntilError(s) })
		time.Sleep(10 * time.Millisecond) // let the reading goroutine block in Read
		s.Reset(stream.CodeInternal)
		s.Reset(stream.CodeInternal)
	})
	cc, _ := f.dial()
	cs, err := cc.NewStream(context.Background(), request("Reset"))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	if err := f.do("the handler's Reset to reach the client", func() error {
		if _, err := cs.Write([]byte{1}); err != nil {
			return err
		}
		if err := cs.Flush(); err != nil {
			return err
		}
		return clientEndError(cs)
	}); !aborted(err) {
		t.Errorf("after the handler's Reset the client read %v, want an error", err)
	}
	if err := await(f, srvErr, "the handler's blocked Read to return after its own Reset"); !aborted(err) {
		t.Errorf("after the handler's Reset its blocked Read returned %v, want an error", err)
	}
}

func (k *kit) handlerReturns(t *testing.T) {
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		if methodOf(s) == "Echo" {
			echoHandler(f, s)
		}
		// Otherwise return without Close or Reset.
	})
	cc, _ := f.dial()
	cs, err := cc.NewStream(context.Background(), request("Return"))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	err = f.do("the stream to end", func() error {
		if err := cs.Flush(); err != nil {
			return err
		}
		return clientEndError(cs)
	})
	if !aborted(err) {
		t.Errorf("a handler returned without Close or Reset; the client read %v, want an error (the stream is reset)", err)
	}
	f.streamsBackTo(cc, 0, "after the stream ended")
	f.stillServes(cc, "after a handler returned without ending its stream")
}

// panicValue is what the handler of HandlerPanics panics with.
const panicValue = "streamtest: a deliberate panic in a stream handler (the protocol must recover it and reset the stream)"

func (k *kit) handlerPanics(t *testing.T) {
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		if methodOf(s) == "Echo" {
			echoHandler(f, s)
			return
		}
		panic(panicValue)
	})
	cc, ss := f.dial()
	cs, err := cc.NewStream(context.Background(), request("Panic"))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	err = f.do("the stream to end", func() error {
		if err := cs.Flush(); err != nil {
			return err
		}
		return clientEndError(cs)
	})
	if !aborted(err) {
		t.Errorf("a handler panicked; the client read %v, want an error (the stream is reset)", err)
	}
	select {
	case <-ss.done:
		t.Errorf("Serve returned %v after a handler panicked", ss.err)
	default:
	}
	f.stillServes(cc, "after a handler panicked")
}

func (k *kit) cancel(t *testing.T) {
	started, srvErr := make(chan stream.RawServerStream, 1), make(chan error, 1)
	f := k.start(t, idleHandler(started, srvErr))
	cc, _ := f.dial()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, ss, clientErr := f.openIdle(ctx, cc, started)
	time.Sleep(10 * time.Millisecond) // let the client goroutine block in Read
	cancel()
	err := await(f, clientErr, "the client's blocked Read to return after its context was canceled")
	if !aborted(err) {
		t.Errorf("after its context was canceled the client's Read returned %v, want an error", err)
	} else if !errors.Is(err, status.ErrCanceled) {
		t.Logf("note: the error of a canceled stream does not match status.ErrCanceled (not required by the SPI): %v", err)
	}
	if err := await(f, srvErr, "the handler's Read to return after the client's context was canceled"); !aborted(err) {
		t.Errorf("after the client's context was canceled the handler's Read returned %v, want an error", err)
	}
	f.contextDone(ss, "the client's context was canceled")
	f.streamsBackTo(cc, 0, "after the stream's context was canceled")
	f.stillServes(cc, "after a stream's context was canceled")
}

func (k *kit) deadline(t *testing.T) {
	const d = 500 * time.Millisecond
	started, srvErr := make(chan stream.RawServerStream, 1), make(chan error, 1)
	f := k.start(t, idleHandler(started, srvErr))
	cc, _ := f.dial()
	dl := time.Now().Add(d)
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	defer cancel()
	_, ss, clientErr := f.openIdle(ctx, cc, started)
	err := await(f, clientErr, "the client's blocked Read to return after its context's deadline")
	if now := time.Now(); now.Before(dl) {
		t.Errorf("the stream ended %v before its context's deadline: %v", dl.Sub(now), err)
	}
	if !aborted(err) {
		t.Errorf("after its context's deadline the client's Read returned %v, want an error", err)
	} else if !errors.Is(err, status.ErrTimeout) {
		t.Logf("note: the error of a stream past its deadline does not match status.ErrTimeout (not required by the SPI): %v", err)
	}
	if err := await(f, srvErr, "the handler's Read to return after the client's deadline"); !aborted(err) {
		t.Errorf("after the client's deadline the handler's Read returned %v, want an error", err)
	}
	f.contextDone(ss, "the client's deadline passed")
	f.streamsBackTo(cc, 0, "after the stream's deadline")
	f.stillServes(cc, "after a stream's deadline passed")
}

// newStreamUnsent checks that NewStream on cc fails with an error
// matching status.ErrUnsent.
func (f *fixture) newStreamUnsent(cc stream.ClientConn, after string) {
	f.t.Helper()
	var cs stream.RawClientStream
	err := f.do("NewStream to return", func() (err error) {
		cs, err = cc.NewStream(context.Background(), request("Late"))
		return err
	})
	if cs != nil {
		cs.Reset(stream.CodeCancel)
	}
	if !errors.Is(err, status.ErrUnsent) {
		f.t.Errorf("NewStream %s returned %v, want an error matching status.ErrUnsent", after, err)
	}
}

func (k *kit) clientClose(t *testing.T) {
	started, srvErr := make(chan stream.RawServerStream, 1), make(chan error, 1)
	f := k.start(t, idleHandler(started, srvErr))
	cc, _ := f.dial()
	_, _, clientErr := f.openIdle(context.Background(), cc, started)
	time.Sleep(10 * time.Millisecond) // let the client goroutine block in Read
	if err := f.closeClient(cc); err != nil {
		t.Logf("ClientConn.Close: %v", err)
	}
	if cc.Available() {
		t.Errorf("Available() = true after Close returned")
	}
	f.newStreamUnsent(cc, "after Close")
	if err := await(f, clientErr, "the open stream's blocked Read to return after ClientConn.Close"); !aborted(err) {
		t.Errorf("after ClientConn.Close the open stream's Read returned %v, want an error", err)
	}
	if err := await(f, srvErr, "the handler's Read to return after the client closed the connection"); !aborted(err) {
		t.Errorf("after the client closed the connection the handler's Read returned %v, want an error", err)
	}
	f.streamsBackTo(cc, 0, "after Close")
}

// serveReturns checks that ss's Serve returns, after what.
func (f *fixture) serveReturns(ss *serverSide, after string) bool {
	f.t.Helper()
	if !f.within(ss.done) {
		f.t.Errorf("Serve did not return within %v %s", f.k.timeout, after)
		return false
	}
	return true
}

// serveReturnsNil checks that ss's Serve returns nil, after what.
func (f *fixture) serveReturnsNil(ss *serverSide, after string) {
	f.t.Helper()
	if f.serveReturns(ss, after) && ss.err != nil {
		f.t.Errorf("Serve returned %q %s, want nil", ss.err, after)
	}
}

func (k *kit) serverClose(t *testing.T) {
	started, srvErr := make(chan stream.RawServerStream, 1), make(chan error, 1)
	f := k.start(t, idleHandler(started, srvErr))
	cc, ss := f.dial()
	_, _, clientErr := f.openIdle(context.Background(), cc, started)
	err := f.do("ServerConn.Close to return", ss.sc.Close)
	f.markClosed(ss)
	if err != nil {
		t.Logf("ServerConn.Close: %v", err)
	}
	if err := await(f, clientErr, "the client's blocked Read to return after ServerConn.Close"); !aborted(err) {
		t.Errorf("after ServerConn.Close the client's Read returned %v, want an error", err)
	}
	if err := await(f, srvErr, "the handler's Read to return after ServerConn.Close"); !aborted(err) {
		t.Errorf("after ServerConn.Close the handler's Read returned %v, want an error", err)
	}
	f.serveReturns(ss, "after Close")
	if f.unavailable(cc, "after the server closed the connection") {
		f.newStreamUnsent(cc, "after the server closed the connection")
	}
}

func (k *kit) shutdown(t *testing.T) {
	late := make(chan struct{}, 1)
	first := make(chan struct{}, 1)
	trailer := stream.Header{{Name: "x-streamtest-trailer", Value: "drained"}}
	f := k.start(t, func(f *fixture, s stream.RawServerStream) {
		if methodOf(s) == "Late" {
			late <- struct{}{}
			_ = s.Close(nil)
			return
		}
		buf := make([]byte, 16)
		for {
			n, err := s.Read(buf)
			if n > 0 {
				if _, err := s.Write(buf[:n]); err != nil {
					f.errorf("Write while shutting down: %v", err)
					s.Reset(stream.CodeInternal)
					return
				}
				if err := s.Flush(); err != nil {
					f.errorf("Flush while shutting down: %v", err)
					s.Reset(stream.CodeInternal)
					return
				}
				select {
				case first <- struct{}{}:
				default:
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				f.errorf("Read while shutting down: %v", err)
				s.Reset(stream.CodeInternal)
				return
			}
		}
		if err := s.Close(trailer); err != nil {
			f.errorf("Close while shutting down: %v", err)
		}
	})
	cc, ss := f.dial()
	cs, err := cc.NewStream(context.Background(), request("Open"))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	exchange := func(msg string) error {
		if _, err := cs.Write([]byte(msg)); err != nil {
			return fmt.Errorf("Write: %w", err)
		}
		if err := cs.Flush(); err != nil {
			return fmt.Errorf("Flush: %w", err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(cs, got); err != nil {
			return fmt.Errorf("reading the echo: %w", err)
		}
		if string(got) != msg {
			return fmt.Errorf("read %q, want %q", got, msg)
		}
		return nil
	}
	if err := f.do("the first echo", func() error { return exchange("one") }); err != nil {
		t.Fatalf("before Shutdown: %v", err)
	}
	await(f, first, "the handler to echo")

	shutdownErr := make(chan error, 1)
	f.spawn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*k.timeout)
		defer cancel()
		shutdownErr <- ss.sc.Shutdown(ctx)
	})

	// Give the client a second to learn that the server is going away.
	told := false
	for end := time.Now().Add(min(time.Second, k.timeout)); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if !cc.Available() {
			told = true
			break
		}
	}
	if !told {
		t.Logf("note: the client connection still reports Available a second after the server began Shutdown (not required by the SPI)")
	}
	var ls stream.RawClientStream
	err = f.do("NewStream to return during Shutdown", func() (err error) {
		ls, err = cc.NewStream(context.Background(), request("Late"))
		return err
	})
	switch {
	case err != nil:
		if !errors.Is(err, status.ErrUnsent) {
			t.Errorf("NewStream after the server began Shutdown returned %v, want an error matching status.ErrUnsent", err)
		}
	case told:
		t.Errorf("NewStream succeeded on a connection whose Available() was false")
		ls.Reset(stream.CodeCancel)
	default:
		err := f.do("the stream opened during Shutdown to end", func() error {
			if err := ls.CloseSend(); err != nil {
				return err
			}
			return clientEndError(ls)
		})
		if !aborted(err) {
			t.Errorf("a stream opened after the server began Shutdown ended with %v, want an error (it must not be served)", err)
		}
		ls.Reset(stream.CodeCancel)
	}
	select {
	case <-late:
		t.Errorf("a handler ran for a stream opened after the server began Shutdown")
	default:
	}

	// The open stream carries on.
	if err := f.do("an echo during Shutdown", func() error { return exchange("two") }); err != nil {
		t.Fatalf("the stream open when Shutdown began: %v", err)
	}
	select {
	case err := <-shutdownErr:
		t.Errorf("Shutdown returned (%v) while a stream was open", err)
	default:
	}
	var rest []byte
	if err := f.do("the open stream to end", func() (err error) {
		if err := cs.CloseSend(); err != nil {
			return fmt.Errorf("CloseSend: %w", err)
		}
		rest, err = io.ReadAll(cs)
		return err
	}); err != nil {
		t.Fatalf("ending the stream open when Shutdown began: %v", err)
	}
	if len(rest) != 0 {
		t.Errorf("read %d unexpected bytes at the end of the stream", len(rest))
	}
	checkFields(t, "the trailer of the stream open when Shutdown began", cs.Trailer(), trailer)

	err = await(f, shutdownErr, "Shutdown to return after the last stream ended")
	f.markClosed(ss)
	if err != nil {
		t.Logf("Shutdown: %v", err)
	}
	f.serveReturns(ss, "after Shutdown")
	if f.unavailable(cc, "after the server shut down") {
		f.newStreamUnsent(cc, "after the server shut down")
	}
	f.streamsBackTo(cc, 0, "after the server shut down")
}

func (k *kit) shutdownTimeout(t *testing.T) {
	started, srvErr := make(chan stream.RawServerStream, 1), make(chan error, 1)
	f := k.start(t, idleHandler(started, srvErr))
	cc, ss := f.dial()
	_, _, clientErr := f.openIdle(context.Background(), cc, started)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := f.do("Shutdown to return once its context is done", func() error { return ss.sc.Shutdown(ctx) })
	f.markClosed(ss)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Logf("Shutdown: %v", err)
	}
	if err := await(f, clientErr, "the open stream's Read to return after Shutdown gave up"); !aborted(err) {
		t.Errorf("after Shutdown's context ended the open stream's Read returned %v, want an error", err)
	}
	if err := await(f, srvErr, "the handler's Read to return after Shutdown gave up"); !aborted(err) {
		t.Errorf("after Shutdown's context ended the handler's Read returned %v, want an error", err)
	}
	f.serveReturns(ss, "after Shutdown")
	if f.unavailable(cc, "after the server shut down") {
		f.newStreamUnsent(cc, "after the server shut down")
	}
}

func (k *kit) serveResult(t *testing.T) {
	started, srvErr := make(chan stream.RawServerStream, 1), make(chan error, 1)
	f := k.start(t, idleHandler(started, srvErr))
	// ends waits for both sides of an idle stream to end, whatever the
	// errors (other checks look at them).
	ends := func(clientErr <-chan error, what string) {
		t.Helper()
		await(f, clientErr, "the client's Read to return "+what)
		await(f, srvErr, "the handler's Read to return "+what)
	}

	cc, ss := f.dial()
	_, _, clientErr := f.openIdle(context.Background(), cc, started)
	_ = f.do("ServerConn.Close to return", ss.sc.Close)
	f.markClosed(ss)
	f.serveReturnsNil(ss, "after Close with a stream open")
	ends(clientErr, "after ServerConn.Close")

	cc, ss = f.dial()
	cs, err := cc.NewStream(context.Background(), request("Echo"))
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	if err := f.do("the first echo", func() error {
		if _, err := cs.Write([]byte("one")); err != nil {
			return err
		}
		if err := cs.Flush(); err != nil {
			return err
		}
		_, err := io.ReadFull(cs, make([]byte, 3))
		return err
	}); err != nil {
		t.Fatalf("before Shutdown: %v", err)
	}
	shutdownErr := make(chan error, 1)
	f.spawn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*k.timeout)
		defer cancel()
		shutdownErr <- ss.sc.Shutdown(ctx)
	})
	if err := f.do("the stream open when Shutdown began to end", func() error {
		if err := cs.CloseSend(); err != nil {
			return err
		}
		_, err := io.ReadAll(cs)
		return err
	}); err != nil {
		t.Fatalf("ending the stream open when Shutdown began: %v", err)
	}
	await(f, shutdownErr, "Shutdown to return after the last stream ended")
	f.markClosed(ss)
	f.serveReturnsNil(ss, "after Shutdown waited for a stream to complete")

	cc, ss = f.dial()
	_, _, clientErr = f.openIdle(context.Background(), cc, started)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = f.do("Shutdown to return once its context is done", func() error { return ss.sc.Shutdown(ctx) })
	f.markClosed(ss)
	f.serveReturnsNil(ss, "after Shutdown's context ended with a stream open")
	ends(clientErr, "after Shutdown gave up")

	_, ss = f.dial()
	_ = f.do("Shutdown to return", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*k.timeout)
		defer cancel()
		return ss.sc.Shutdown(ctx)
	})
	f.markClosed(ss)
	f.serveReturnsNil(ss, "after Shutdown with no stream open")
}
