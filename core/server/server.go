package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/gcfloor"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/core/transport"
)

// ErrServerStopped is returned by Start after Stop.
var ErrServerStopped = errors.New("server: stopped")

// Server is an RPC server. Create it with New, register services, then
// Start or Run. A Server is safe for concurrent use.
type Server struct {
	opts  options
	log   *slog.Logger
	level stats.Level

	mu       sync.Mutex
	services []*service.Info
	byName   map[string]map[string]*method // service -> method -> entry
	byMethod map[string]*method            // first registration of each method name
	started  bool
	stopped  bool
	eng      engine.Server
	ln       net.Listener
	reg      *registration
	served   chan error
	stopCh   chan struct{}
	stopOnce sync.Once
	stopErr  error
	draining atomic.Bool  // replies ask clients to drop their connections
	ooo      atomic.Int64 // out-of-order calls running on workers (serveOne)
	expired  atomic.Int64 // calls dropped because their deadline passed before they started
	lastRead atomic.Int64 // while draining: when a request was last read (unix ns)
	wakes    conn.Sparse  // the read wake-ups of framed connections (see sparseGap)
	impls    []any        // registered implementations, for Drainer

	byFull   map[string]map[string]*method // full service name (package.Name) -> methods
	byCodec  map[string]*routes            // service codec -> that codec's services
	byStream map[*stream.Method]*method    // stream dispatch: Lookup hands out &method.sm
	smu      sync.Mutex
	sconns   map[stream.ServerConn]struct{} // open stream connections
	sclosing bool                           // new stream connections shut down at once

	scodecsOnce sync.Once
	scodecs     []stream.Codec // the registered stream codecs, taken once

	conns    atomic.Int64 // open connections (accepted, not refused)
	limit    connLimit    // WithMaxConns (limits.go)
	diagName string       // WithDiagnosis: the probe's name; set by Start
	diagStop func()       // unregisters the probe
}

// routes finds the methods of the services of one codec.
type routes struct {
	byName   map[string]map[string]*method
	byMethod map[string]*method
}

type method struct {
	info *service.MethodInfo
	svc  string
	ep   endpoint.Endpoint
	sm   stream.Method
}

// New returns a server configured by opts. It does not listen until Start
// or Run.
func New(opts ...Option) *Server {
	o := defaultOptions()
	for _, opt := range opts {
		opt.apply(&o)
	}
	s := &Server{
		opts:     o,
		log:      o.logger,
		byName:   map[string]map[string]*method{},
		byMethod: map[string]*method{},
		byFull:   map[string]map[string]*method{},
		byCodec:  map[string]*routes{},
		byStream: map[*stream.Method]*method{},
		sconns:   map[stream.ServerConn]struct{}{},
		stopCh:   make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if o.statsLevel != nil {
		s.level = *o.statsLevel
	} else if len(o.tracers) > 0 {
		s.level = stats.LevelDetailed
	}
	return s
}

// RegisterService adds a service served by impl. It fails if a service of
// the same full name (package and name) is already registered, if impl
// does not fit info.HandlerType when that is set (implement the interface
// it points to, or be of its type), or after Start. A request is routed among
// the services of its codec first (info.Codec), then among all; when two
// services have a method of the same name, a request that does not name its
// service goes to the first.
func (s *Server) RegisterService(info *service.Info, impl any) error {
	if info == nil || impl == nil {
		return errors.New("server: RegisterService with nil service info or implementation")
	}
	if err := checkHandlerType(info, impl); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("server: RegisterService after Start")
	}
	if _, dup := s.byFull[info.FullName()]; dup {
		return fmt.Errorf("server: service %q registered twice", info.FullName())
	}
	methods := make(map[string]*method, len(info.Methods))
	for name, mi := range info.Methods {
		// A streaming method's handler gets the stream as its args
		// (stream.Dispatcher), so it needs no constructors.
		streaming := mi.StreamingMode&(service.StreamingClient|service.StreamingServer) != 0
		if mi.Handler == nil || (!streaming && (mi.NewArgs == nil || (!mi.Oneway && mi.NewResult == nil))) {
			return fmt.Errorf("server: method %s.%s has no handler, args or result constructor", info.Name, name)
		}
		h := mi.Handler
		inner := func(ctx context.Context, req, resp any) error {
			if err := h(ctx, impl, req, resp); err != nil {
				return err
			}
			return declared(resp)
		}
		m := &method{info: mi, svc: info.Name, ep: endpoint.Build(inner, s.opts.middlewares...),
			sm: stream.Method{Service: info, Info: mi}}
		methods[name] = m
		s.byStream[&m.sm] = m
		if _, ok := s.byMethod[name]; !ok {
			s.byMethod[name] = m
		} else {
			s.log.Warn("skiff: method name served by two services; requests without a service name go to the first",
				"method", name, "service", info.Name)
		}
	}
	// Two services may share a bare name in different packages (a Thrift
	// EchoService and a protobuf echo.pb.EchoService): the full name tells
	// them apart; a bare name routes to the first.
	if _, ok := s.byName[info.Name]; !ok {
		s.byName[info.Name] = methods
	}
	rs := s.byCodec[info.Codec]
	if rs == nil {
		rs = &routes{byName: map[string]map[string]*method{}, byMethod: map[string]*method{}}
		s.byCodec[info.Codec] = rs
	}
	if _, ok := rs.byName[info.Name]; !ok {
		rs.byName[info.Name] = methods
	}
	for name, m := range methods {
		if _, ok := rs.byMethod[name]; !ok {
			rs.byMethod[name] = m
		}
	}
	s.byFull[info.FullName()] = methods
	s.services = append(s.services, info)
	s.impls = append(s.impls, impl)
	return nil
}

// route finds the method for a request decoded by the named codec; svc
// may be empty. Services of that codec come first, so a Thrift EchoService
// and a protobuf EchoService can share a port.
func (s *Server) route(codecName, svc, name string) *method {
	if rs := s.byCodec[codecName]; rs != nil {
		if svc != "" {
			if ms, ok := rs.byName[svc]; ok {
				if m := ms[name]; m != nil {
					return m
				}
			}
		} else if m := rs.byMethod[name]; m != nil {
			return m
		}
	}
	if svc != "" {
		if ms, ok := s.byName[svc]; ok {
			return ms[name]
		}
	}
	return s.byMethod[name]
}

// Start listens and serves in the background. It returns once the listener
// is open, so Addr is valid after it. With a registry (WithRegistry), Start
// then registers the server and returns after Register does; a
// registration failure is logged and reported by RegisterErr, not by
// Start. Start fails, before listening, if the WithAdvertiseAddress value
// is not a valid host:port.
func (s *Server) Start() error {
	s.mu.Lock()
	reg, err := s.startLocked()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if reg != nil {
		// Outside s.mu: a registry may take a while (a network call).
		s.register(reg)
	}
	return nil
}

// startLocked is Start with s.mu held, up to the registration it returns
// (nil without a registry).
func (s *Server) startLocked() (*registration, error) {
	if s.stopped {
		return nil, ErrServerStopped
	}
	if s.started {
		return nil, errors.New("server: already started")
	}
	if len(s.byName) == 0 && s.unknownMethod() == nil {
		return nil, errors.New("server: no service registered (and no unknown-method handler)")
	}
	if s.opts.advertiseAddr != "" {
		if err := checkAdvertiseAddress(s.opts.advertiseAddr); err != nil {
			return nil, err
		}
	}
	if s.opts.tls != nil {
		if s.opts.engineSet && s.opts.engine.Name() != engine.Std.Name() {
			return nil, fmt.Errorf("server: WithTLSConfig needs the std engine, not %s (Netpoll has no TLS); leave WithEngine out", s.opts.engine.Name())
		}
		s.opts.engine = engine.Std
	}
	if err := s.checkReachable(); err != nil {
		return nil, err
	}
	eng, err := s.opts.engine.NewServer(engine.ServerParams{
		Handler:     (*connHandler)(s),
		ReadTimeout: s.opts.readTimeout,
		IdleTimeout: s.opts.idleTimeout,
	})
	if err != nil {
		return nil, err
	}
	ln := s.opts.listener
	if ln == nil {
		if ln, err = s.opts.engine.Listen(s.opts.network, s.opts.address); err != nil {
			return nil, err
		}
	} else if err := engine.CheckListener(s.opts.engine, ln); err != nil {
		// The engine would fail in the background and leave the
		// listener accepting connections nobody serves.
		return nil, fmt.Errorf("server: WithListener: %w", err)
	}
	served := ln
	if s.opts.tls != nil {
		served = &tlsListener{Listener: ln, cfg: s.opts.tls, optional: s.opts.tlsOptional, log: s.log}
	}
	s.eng, s.ln, s.started = eng, ln, true
	gcfloor.Raise(s.opts.heapFloor)
	s.registerDiag(ln.Addr().String())
	s.served = make(chan error, 1)
	go func() { s.served <- eng.Serve(served) }()
	if s.opts.registry != nil {
		s.reg = &registration{r: s.opts.registry, info: s.registryInfo(ln.Addr()), done: make(chan struct{})}
	}
	return s.reg, nil
}

// Addr returns the listen address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run starts the server and blocks until Stop is called or the process gets
// SIGINT or SIGTERM, then stops gracefully and returns.
func (s *Server) Run() error {
	if err := s.Start(); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	var serveErr error
	select {
	case <-sig:
	case <-s.stopCh:
	case serveErr = <-s.served:
		s.served <- serveErr // Stop waits for it
	}
	err := s.Stop()
	if serveErr != nil {
		return serveErr // the engine stopped serving by itself
	}
	return err
}

// Stop shuts down gracefully, in this order: tells each registered service
// implementation that is a [Drainer] (the gRPC health service turns
// NOT_SERVING); deregisters (WithRegistry; after Start's registration
// returned), so clients that resolve the server in the meantime still
// reach it; stops accepting (new connections are refused at once, on both
// engines, whatever is still open) and at the same time asks stream
// connections (HTTP/2) to go away; waits for a quiet moment (no request
// read for 100 ms, 1 s at most) so that calls sent by clients that had not
// yet seen the deregistration still arrive, and up to the exit wait time for in-flight
// calls and streams to finish and their replies to be written; ends the
// streams still open with an "unavailable" status
// (stream.ErrServerStopping); then closes every connection. It returns nil
// when everything ended in time, and an error matching [ErrForcedStop]
// when the exit wait cut work short. Stop is idempotent; later calls
// return the first call's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		eng, started, reg := s.eng, s.started, s.reg
		s.mu.Unlock()
		close(s.stopCh)
		if !started {
			return
		}
		s.drainServices()
		if reg != nil {
			s.deregister(reg)
		}
		start := time.Now()
		s.lastRead.Store(start.UnixNano())
		s.draining.Store(true)
		ctx, cancel := context.WithDeadline(context.Background(), start.Add(s.opts.exitWait))
		defer cancel()
		// Stop accepting at once, and ask stream connections (HTTP/2) to
		// go away at once too.
		if as, ok := eng.(engine.AcceptStopper); ok {
			as.StopAccepting()
		}
		streams := make(chan bool, 1)
		go func() { streams <- s.shutdownStreams(ctx) }()
		// Clients of connections that cannot be told to go away (Thrift
		// Framed and Buffered have no crrst) learn it from the
		// deregistration: give the calls they sent meanwhile a quiet
		// moment to arrive before idle connections are closed.
		if s.conns.Load() > 0 {
			s.awaitQuiet(ctx)
		}
		// The engine would close the connections that look idle, and a
		// connection whose calls run on workers (out of order) looks idle:
		// let those calls end first.
		s.awaitWorkers(ctx)
		workersCut := s.ooo.Load() > 0
		// The engine waits a little longer than the streams, so that streams
		// cut at the exit wait end with a status before their connections
		// close.
		ectx, ecancel := context.WithDeadline(context.Background(), start.Add(s.opts.exitWait+stream.StopGrace+50*time.Millisecond))
		defer ecancel()
		err := eng.Shutdown(ectx)
		forced := <-streams
		if workersCut {
			// Their connections are closed: they write nothing more. Give
			// their handlers the grace to return before Stop does.
			s.awaitWorkers(ectx)
		}
		if forced || workersCut || errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: calls or streams were still open after the exit wait (%v)", ErrForcedStop, s.opts.exitWait)
		}
		if serr := <-s.served; serr != nil && err == nil && !errors.Is(serr, net.ErrClosed) {
			err = serr
		}
		s.stopErr = err
		s.unregisterDiag(err)
	})
	return s.stopErr
}

// drainQuiet is how long no request must have been read, once Stop
// stopped accepting, before it closes the idle connections: a client
// that picked this server just before the deregistration reached it may
// be writing a call on a pooled connection, and a connection closed under
// it loses that call (Framed and Buffered have no way to tell their
// clients to go away). A client still sending after that is not told by
// the registry; its calls wait for the exit wait like in-flight ones.
const drainQuiet = 100 * time.Millisecond

// drainQuietMax bounds the wait for a quiet moment: clients that keep
// calling a server that no longer accepts were not told by the registry
// (a static address list), and waiting longer for them serves nobody.
const drainQuietMax = time.Second

// awaitQuiet waits until no request was read for drainQuiet, for at most
// drainQuietMax, or until ctx is done.
func (s *Server) awaitQuiet(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, drainQuietMax)
	defer cancel()
	for {
		left := drainQuiet - time.Since(time.Unix(0, s.lastRead.Load()))
		if left <= 0 || ctx.Err() != nil {
			return
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// awaitWorkers waits until no out-of-order call runs on a worker, or ctx
// is done.
func (s *Server) awaitWorkers(ctx context.Context) {
	for s.ooo.Load() > 0 && ctx.Err() == nil {
		t := time.NewTimer(2 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// Drainer is an optional interface of a registered service
// implementation: Stop calls Drain first, before it deregisters and stops
// accepting, so the service can tell its clients the server is going away
// (the gRPC health service turns NOT_SERVING). Drain must not block.
type Drainer interface {
	Drain()
}

// drainServices calls Drain on the implementations that are Drainers,
// once each.
func (s *Server) drainServices() {
	s.mu.Lock()
	impls := make([]any, 0, len(s.impls))
	impls = append(impls, s.impls...)
	s.mu.Unlock()
	for _, impl := range impls {
		if d, ok := impl.(Drainer); ok {
			d.Drain()
		}
	}
}

// ErrForcedStop is what Stop and Run return when the exit wait ran out
// before every in-flight call and stream ended: those were cut. It tells
// an ordinary stop under load apart from a failure to stop.
var ErrForcedStop = errors.New("skiff: server stopped before in-flight work ended")

// connState is one connection's state; it is also the context the engine
// hands back with each request.
type connState struct {
	context.Context
	sproto stream.Protocol // set when the connection speaks a stream protocol
	proto  transport.Protocol
	meta   transport.MetaHandler // proto's chained with the server's, if proto carries metadata
	codec  codec.Codec
	remote net.Addr

	refused  bool        // a ConnHook refused the connection: it is closed, nothing is read
	accepted bool        // the ConnHooks accepted it: they are told when it closes
	conn     engine.Conn // for workers that must close it

	// Out-of-order serving (requests that accept replies in any order run
	// on goroutines of their own; see serveOne).
	wmu    sync.Mutex // whole replies are written under it once workers run
	closed bool       // under wmu: the connection is gone, its writer must not be used
	// abandoned: a reply could not be taken back from the writer, or a
	// panic cut a write short (abandonWrites); the reading goroutine
	// stops serving.
	abandoned atomic.Bool
	workers   chan struct{} // a slot per running worker, WithConnConcurrency of them; nil until needed

	// Reply batching. The workers started by one read wake-up (a batch,
	// numbered gen) write their replies without flushing while the reader
	// waits for them (awaitBatch), flushing what they wrote every
	// batchBudget; the reader flushes the rest when it stops waiting. A
	// worker that ends after that flushes its own reply.
	gen           uint64        // under wmu: the current batch
	inBatch       bool          // under wmu: the reader still waits for the batch
	batchLeft     int           // under wmu: workers of the batch not done
	batchDone     chan struct{} // capacity 1: the batch's last worker is done
	batchFinished uint64        // under wmu: workers that finished in a batch while the reader waited
	timer         *time.Timer   // the reader's budget timer

	arr      arrivals // when the reader's buffered bytes arrived (reading goroutine only)
	lastSize int      // the size of the last request read (reading goroutine only)

	work        chan oooTask  // unbuffered: to an idle worker
	idleWorkers atomic.Int32  // workers waiting on work
	done        chan struct{} // closed when the connection closes: idle workers end
}

// batchBudget is how long a read wake-up waits for the workers it started
// before it flushes the replies they wrote (one window; awaitBatch says
// how many it waits): long enough for fast handlers to share one write,
// short enough not to make the client's next requests wait for a whole
// batch of replies (measured pinned at c=100 when a batch had one window:
// 500 µs left the server idle 40 % of the time, 46k QPS; 50 µs, 61k;
// 15 µs, 57k).
const batchBudget = 50 * time.Microsecond

// sparseGap: while a server's read wake-ups come this long apart on
// average (conn.Sparse), each announces a short wait to the engine
// (conn.ShortWaiter).
// On Netpoll with one P, the scheduler's fairness turn (one schedule in
// 61 takes the global queue first) can hand the P back to the poller just
// after it woke the goroutine that serves a request; the poller then
// blocks in epoll_wait with that goroutine runnable, until the engine's
// waker expires. Under load other connections' events end such a stall at
// once; on a server whose requests come one at a time nothing does, and
// it lasted up to the waker's slow period (2 ms): pinned at c=1, 1.6 % of
// calls, p99 1.4 ms against 0.2 ms on the std engine. Each announced wait
// keeps the waker at its fast period for a while (the engine's
// wakerCheckEvery), which covers the next requests while they come at
// least that often. The cost is the fast period's expirations while
// requests are sparse: pinned at c=1 (about 10k calls a second, medians
// of 5), server CPU per call rose from 36 to 42 µs while p99 fell from
// 1.35 ms to 0.27 ms and QPS rose by a fifth.
const sparseGap = 70 * time.Microsecond

// batchMin: a read wake-up batches the replies of its out-of-order calls
// only when it likely brought this many requests or more (batchWorth);
// otherwise each worker flushes its reply when done. Batching small waves
// kept a multiplexing client and the server in lockstep, each idle while
// the other handled a whole wave: core/client's muxhold.go has the
// numbers.
const batchMin = 16

// earlyReplyBytes: once this much of a connection's replies is queued,
// the worker that queued the last of them writes them, even while the
// reading goroutine still waits for its batch (or, on the reading
// goroutine, before it reads the next request). Left to the batch's end,
// a whole wave of replies went out in one write and the client idled
// until then, then sent its next wave while the server idled: pinned
// c=100 TTHeader with Skiff's defaults, both sides were blocked in
// epoll_wait a third of the time. Writing every 16 KB lets the client
// start on the first replies: 230k -> 255k QPS, and 310k with the
// client's matching change (core/client's muxhold.go); c=1000 unchanged.
const earlyReplyBytes = 16 << 10

// batchWorth reports whether buffered bytes likely hold batchMin requests
// of the size of the connection's last one, or more.
func batchWorth(buffered, lastSize int) bool {
	return lastSize > 0 && buffered >= batchMin*lastSize
}

// batchMaxWindows bounds how many budgets a read wake-up waits for its
// workers (see awaitBatch).
const batchMaxWindows = 40

// connHandler is the engine.Handler view of a Server.
type connHandler Server

func (h *connHandler) OnConnect(ctx context.Context, c engine.Conn) context.Context {
	st := &connState{Context: ctx, remote: c.RemoteAddr(), conn: c}
	if s := (*Server)(h); s.hasConnHooks() && !s.acceptConn(st) || !s.admitConn(st) {
		// Refused: close before reading anything (the engine then calls
		// no OnRequest, only OnDisconnect).
		s.closeConn(st) // the hooks that accepted it are told
		st.refused = true
		_ = c.Close()
	}
	return st
}

func (h *connHandler) OnRequest(ctx context.Context, c engine.Conn) (err error) {
	st, ok := ctx.(*connState)
	if !ok {
		st = &connState{Context: ctx, remote: c.RemoteAddr(), conn: c}
	}
	if st.refused {
		return errConnRefused
	}
	// A panic outside the handler (a faulty codec or transport) closes
	// this connection only, whatever the engine.
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("skiff: panic while serving a connection", "remote", st.remote, "panic", p, "stack", string(debug.Stack()))
			err = status.Protocolf("panic while serving: %v", p)
			// The panic may have cut a write short: its bytes must not
			// be sent, and Close must not wait for the write to end.
			if st.sproto == nil {
				st.wmu.Lock()
				abandonWrites(st, c.Writer())
				st.wmu.Unlock()
				st.closeAbandoned()
			}
		}
	}()
	s := (*Server)(h)
	if st.proto == nil && st.sproto == nil {
		if err := s.detect(st, c.Reader()); err != nil {
			return err
		}
	}
	if st.sproto != nil {
		return s.serveStreams(st, c)
	}
	return s.serve(st, c.Reader(), c.Writer())
}

func (h *connHandler) OnDisconnect(ctx context.Context, _ engine.Conn) {
	if st, ok := ctx.(*connState); ok {
		// Workers still running must not touch the connection's writer
		// any more: the engine releases it once this returns.
		st.wmu.Lock()
		st.closed = true
		if st.done != nil {
			close(st.done)
		}
		st.wmu.Unlock()
		if !st.refused {
			(*Server)(h).conns.Add(-1)
		}
		(*Server)(h).closeConn(st)
	}
}

var messages = sync.Pool{New: func() any { return new(codec.Message) }}

// serve reads and answers every request buffered in r, then flushes the
// replies together.
func (s *Server) serve(st *connState, r transport.Reader, w transport.Writer) error {
	if st.proto == nil {
		if err := s.detect(st, r); err != nil {
			return err
		}
	}
	batching := false
	if st.workers != nil {
		// A new batch: its workers' replies wait for the flush below,
		// when the wake-up brought enough requests to be worth it (see
		// batchMin); otherwise each flushes its own.
		batching = batchWorth(r.Len(), st.lastSize)
		st.wmu.Lock()
		st.gen++
		st.inBatch, st.batchLeft = batching, 0
		st.wmu.Unlock()
		select {
		case <-st.batchDone: // a late signal of an earlier batch
		default:
		}
	}
	// The bytes buffered now arrived by now (requests' deadlines count
	// from it).
	now := time.Now()
	st.arr.note(now, r.Len())
	if s.wakes.Note(now, sparseGap) {
		if sw, ok := st.conn.(conn.ShortWaiter); ok {
			sw.ShortWait()
		}
	}
	if s.draining.Load() {
		s.lastRead.Store(now.UnixNano()) // Stop waits for a quiet moment
	}
	var err error
	for {
		if err = s.serveOne(st, r, w); err != nil || r.Len() == 0 {
			break
		}
		if st.abandoned.Load() {
			err = errAbandoned // no more handlers for a connection that is going
			break
		}
	}
	if r.Len() == 0 {
		st.arr.reset() // nothing is buffered: no arrival to remember
	}
	if batching && err == nil {
		s.awaitBatch(st, w)
	}
	st.wmu.Lock()
	defer st.wmu.Unlock()
	st.inBatch = false // from now on, workers flush their own replies
	if w.MallocLen() > 0 && !st.closed {
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// awaitBatch waits for the workers of the current batch, flushing the
// replies they wrote every batchBudget. It stops waiting once they are all
// done, when a whole budget passes without one of them finishing (the rest
// are slow: they flush their own replies), or after batchMaxWindows
// budgets. Reading the connection waits meanwhile; on a busy server the
// batch's workers have the CPU anyway, and a batch flushed window by
// window costs a write per window instead of one per late reply.
func (s *Server) awaitBatch(st *connState, w transport.Writer) {
	sw, _ := st.conn.(conn.ShortWaiter)
	for i := 0; i < batchMaxWindows; i++ {
		st.wmu.Lock()
		left, finished := st.batchLeft, st.batchFinished
		st.wmu.Unlock()
		if left == 0 {
			return
		}
		if sw != nil {
			sw.ShortWait() // the budget timer must fire on time
		}
		if st.timer == nil {
			st.timer = time.NewTimer(batchBudget)
		} else {
			st.timer.Reset(batchBudget)
		}
		select {
		case <-st.batchDone:
			// Usually the batch's last worker; possibly a signal from
			// before a later request started another worker: look again.
			st.timer.Stop()
			continue
		case <-st.timer.C:
		}
		if !flushBatch(st, w, finished) {
			return
		}
	}
}

// flushBatch flushes the replies of the batch written so far, unless the
// batch is done, none of its workers finished since finished, or the
// connection is gone; it reports whether awaitBatch goes on waiting.
func flushBatch(st *connState, w transport.Writer, finished uint64) bool {
	st.wmu.Lock()
	defer st.wmu.Unlock() // a panic here must not leave it held
	if st.batchLeft == 0 || st.batchFinished == finished || st.closed {
		return false
	}
	if w.MallocLen() > 0 {
		if ferr := w.Flush(); ferr != nil {
			return false // serve's own flush reports the connection's failure
		}
	}
	return true
}

func (s *Server) transports() []transport.Protocol {
	if s.opts.transports != nil {
		return s.opts.transports
	}
	return transport.All()
}

func (s *Server) codecs() []codec.Codec {
	if s.opts.codecs != nil {
		return s.opts.codecs
	}
	return codec.All()
}

func (s *Server) detect(st *connState, r transport.Reader) error {
	n := transport.DetectLen
	prefix, err := r.Peek(n)
	if err != nil {
		if l := r.Len(); l > 0 && l < n {
			prefix, err = r.Peek(l)
		}
		if err != nil {
			return err
		}
	}
	for _, p := range s.streamProtocols() {
		if p.Detect(prefix) {
			st.sproto = p
			return nil
		}
	}
	for _, p := range s.transports() {
		if p.Detect(prefix) {
			st.proto = p
			if pm, ok := p.(transport.MetaHandler); ok {
				st.meta = transport.ChainMeta(append([]transport.MetaHandler{pm}, s.opts.metaHandlers...)...)
			}
			return nil
		}
	}
	if len(prefix) >= 2 && prefix[0] == 0x16 && prefix[1] == 0x03 {
		// A TLS ClientHello: the client speaks TLS to a plaintext server.
		s.log.Warn("skiff: TLS handshake on a plaintext port, closing connection (serve TLS with WithTLSConfig)", "remote", st.remote)
		return status.Protocolf("TLS handshake on a plaintext port")
	}
	s.log.Warn("skiff: unknown protocol, closing connection", "remote", st.remote, "prefix", fmt.Sprintf("%x", prefix))
	return status.Protocolf("unknown protocol (first bytes %x)", prefix)
}

func (s *Server) pickCodec(st *connState, msg *codec.Message, payload []byte) codec.Codec {
	if st.codec != nil && st.codec.Detect(payload) {
		return st.codec
	}
	if cd, ok := st.proto.(transport.CodecDetector); ok {
		if name := cd.Codec(msg); name != "" {
			for _, c := range s.codecs() {
				if c.Name() == name {
					return c
				}
			}
		}
	}
	for _, c := range s.codecs() {
		if c.Detect(payload) {
			return c
		}
	}
	return nil
}

// serveOne reads one request and writes its reply (without flushing). An
// error means the connection must close.
func (s *Server) serveOne(st *connState, r transport.Reader, w transport.Writer) error {
	msg := messages.Get().(*codec.Message)
	handedOff := false
	defer func() {
		if !handedOff {
			msg.Reset()
			messages.Put(msg)
		}
	}()
	payload, err := st.proto.ReadMessage(r, msg, s.opts.maxFrame)
	if err != nil {
		return s.connError(st, "read", err)
	}
	msg.Received = st.arr.take(msg.Size)
	st.lastSize = msg.Size
	c := s.pickCodec(st, msg, payload)
	if c == nil {
		return s.connError(st, "decode", status.Protocolf("no codec recognises the message (first bytes %x)", head(payload)))
	}
	st.codec = c
	n, err := codec.Envelope(c, payload, msg)
	if err != nil {
		return s.connError(st, "decode", err)
	}
	if msg.Type != codec.Call && msg.Type != codec.Oneway {
		err := status.Exception(status.TypeInvalidMessageType, "invalid message type "+msg.Type.String()+" from client")
		s.replyLocked(st, w, c, msg, err, false)
		return s.connError(st, "decode", err)
	}
	m := s.route(c.Name(), msg.Service, msg.Method)
	if m == nil {
		// WithUnknownMethodHandler, if the codec carries raw payloads.
		m = s.unknownMethodFor(c)
	}
	if m == nil || m.info.StreamingMode&(service.StreamingClient|service.StreamingServer) != 0 {
		_ = r.Release()
		if msg.Type == codec.Call {
			text := "unknown method " + msg.Method
			if m != nil {
				// A streaming method is served on stream transports only.
				text = "method " + msg.Method + " is a streaming method: call it over a streaming transport (gRPC)"
			}
			s.replyLocked(st, w, c, msg, status.Exception(status.TypeUnknownMethod, text), false)
		}
		return nil
	}
	args := m.info.NewArgs()
	msg.Payload = args
	if err := c.DecodePayload(payload[n:], msg); err != nil {
		if msg.Type == codec.Call {
			s.replyLocked(st, w, c, msg, status.Exception(status.TypeProtocolError, "decode "+msg.Method+" arguments: "+err.Error()), false)
		}
		return s.connError(st, "decode", err)
	}
	recvSize := msg.Size
	if recvSize == 0 {
		recvSize = len(payload)
	}
	_ = r.Release()
	if s.opts.connConcurrency <= 1 || st.conn == nil {
		// In order also without a connection (an Invoker, which returns
		// the replies written by the time serve returns).
		msg.OutOfOrder = false // its reply says the calls are served in order
	}
	if msg.OutOfOrder {
		// The client takes replies in any order: serve the call on a
		// goroutine of its own, so a slow handler holds up no other call
		// of the connection; its reply is written and flushed when done.
		if st.workers == nil {
			st.workers = make(chan struct{}, s.opts.connConcurrency)
			st.batchDone = make(chan struct{}, 1)
			st.work = make(chan oooTask)
			st.done = make(chan struct{})
			st.wmu.Lock()
			st.gen++
			st.inBatch, st.batchLeft = false, 0 // the first wave is not batched (serve's batching was decided without workers): each worker flushes its own reply
			st.wmu.Unlock()
		}
		select {
		case st.workers <- struct{}{}:
			handedOff = true
			s.ooo.Add(1)
			st.wmu.Lock()
			gen := st.gen
			st.batchLeft++
			st.wmu.Unlock()
			s.dispatch(st, oooTask{w: w, c: c, m: m, msg: msg, args: args, recvSize: recvSize, gen: gen})
			return nil
		default:
			// At the connection's bound: serve it here, which also stops
			// reading the connection until it is done (backpressure). An
			// engine that reads only when asked (std) first takes in what
			// has arrived, so that the requests waiting behind this one
			// get their arrival time and expire while they wait, as they
			// do on Netpoll, which reads whatever arrives.
			if ra, ok := r.(conn.ReadAheader); ok {
				ra.ReadAhead(readAheadLimit)
			}
		}
	}
	if r.Len() > 0 {
		// Requests buffered behind this one wait for it: they arrived by
		// now, whenever they are read.
		st.arr.note(time.Now(), r.Len())
	}
	s.invoke(st, w, c, m, msg, args, recvSize, 0)
	return nil
}

// readAheadLimit bounds how many bytes a connection at its
// WithConnConcurrency bound takes in ahead (conn.ReadAheader).
const readAheadLimit = 1 << 20

// arrivals tracks when the bytes buffered in a connection's reader had
// arrived, so that a request's deadline counts from its arrival and not
// from when the server got round to reading it: requests wait in the
// buffer behind a slow in-order call, or behind a connection at its
// WithConnConcurrency bound. Only the reading goroutine uses it.
type arrivals struct {
	segs []arrival // oldest first, from head on
	head int
	n    int // the bytes segs account for: at most the buffered bytes
}

// arrival says that n more buffered bytes had arrived by at.
type arrival struct {
	at time.Time
	n  int
}

// note records that the buffered bytes (buffered counts them all) that
// are not accounted for yet had arrived by now.
func (a *arrivals) note(now time.Time, buffered int) {
	if buffered > a.n {
		a.segs = append(a.segs, arrival{now, buffered - a.n})
		a.n = buffered
	}
}

// reset forgets every arrival.
func (a *arrivals) reset() { a.segs, a.head, a.n = a.segs[:0], 0, 0 }

// take consumes the size bytes of a message just read and returns when its
// last byte had arrived: the time of the note that accounted for it, or
// now when it had not been wholly buffered at the last note (or its size
// is unknown), which resets the accounting.
func (a *arrivals) take(size int) time.Time {
	if size <= 0 || size > a.n {
		a.reset()
		return time.Now()
	}
	a.n -= size
	for {
		sg := &a.segs[a.head]
		if sg.n > size {
			sg.n -= size
			return sg.at
		}
		size -= sg.n
		at := sg.at
		if a.head++; a.head == len(a.segs) {
			a.segs, a.head = a.segs[:0], 0
		}
		if size == 0 {
			return at
		}
	}
}

// oooTask is one out-of-order call handed to a worker.
type oooTask struct {
	w        transport.Writer
	c        codec.Codec
	m        *method
	msg      *codec.Message
	args     any
	recvSize int
	gen      uint64
}

const (
	// maxIdleWorkers bounds the idle worker goroutines a connection keeps
	// for its out-of-order calls; workerIdle is how long one waits for
	// another call before it ends. Reused workers keep their grown stacks.
	maxIdleWorkers = 64
	workerIdle     = time.Second
)

// dispatch hands t to an idle worker of the connection, or to a new one.
func (s *Server) dispatch(st *connState, t oooTask) {
	select {
	case st.work <- t:
	default:
		go transport.RunKeepingStack(func() { s.worker(st, t) })
	}
}

// worker runs out-of-order calls of st until it has been idle for
// workerIdle or the connection closed. It runs inside
// transport.RunKeepingStack, so that waiting between calls does not cost
// it its stack.
func (s *Server) worker(st *connState, t oooTask) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.runTask(st, t)
		if st.idleWorkers.Add(1) > maxIdleWorkers {
			st.idleWorkers.Add(-1)
			return
		}
		if timer == nil {
			timer = time.NewTimer(workerIdle)
		} else {
			timer.Reset(workerIdle)
		}
		select {
		case t = <-st.work:
			st.idleWorkers.Add(-1)
		case <-timer.C:
			st.idleWorkers.Add(-1)
			return
		case <-st.done:
			st.idleWorkers.Add(-1)
			return
		}
	}
}

// runTask runs one out-of-order call and does its batch's accounting. A
// panic outside the handler (a faulty codec or transport writing the
// reply) closes the connection, as on the reading goroutine.
func (s *Server) runTask(st *connState, t oooTask) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("skiff: panic while serving a call", "remote", st.remote, "panic", p, "stack", string(debug.Stack()))
			st.wmu.Lock()
			abandonWrites(st, t.w)
			st.wmu.Unlock()
			st.closeAbandoned()
		}
		t.msg.Reset()
		messages.Put(t.msg)
		st.wmu.Lock()
		if st.inBatch && st.gen == t.gen {
			st.batchFinished++
			if st.batchLeft--; st.batchLeft == 0 {
				select {
				case st.batchDone <- struct{}{}:
				default:
				}
			}
		}
		st.wmu.Unlock()
		<-st.workers
		s.ooo.Add(-1)
	}()
	s.invoke(st, t.w, t.c, t.m, t.msg, t.args, t.recvSize, t.gen)
}

// invoke runs one decoded call and writes its reply. On the reading
// goroutine (gen 0), serve flushes the reply with the others of its read.
// A worker of batch gen leaves the flush to serve while serve still waits
// for that batch, and flushes itself after.
// dropExpired counts and logs a call whose deadline passed before it
// started (while it waited to be read, or behind other calls: the caller
// gave up) and returns its error. It is kept out of invoke so that the hot
// path's stack frame stays small (a handler goroutine whose stack must
// grow pays for a copy).
//
//go:noinline
func (s *Server) dropExpired(st *connState, ci *callinfo.Info, msg *codec.Message, hctx context.Context) error {
	s.expired.Add(1)
	s.log.Debug("skiff: dropped a call whose deadline passed before it started",
		"service", ci.Service, "method", msg.Method, "remote", st.remote, "waited", time.Since(msg.Received))
	return status.Wrap(status.ErrTimeout, "deadline passed before "+msg.Method+" started", hctx.Err())
}

func (s *Server) invoke(st *connState, w transport.Writer, c codec.Codec, m *method, msg *codec.Message, args any, recvSize int, gen uint64) {
	var ci *callinfo.Info
	if st.meta != nil {
		// Its backward values travel in its reply's header: a collector
		// of its own (the connection's context is every call's parent).
		ci = callinfo.NewOwnBackward(st.Context)
	} else {
		// No header carries backward values: they go to a collector the
		// connection's context carries, if any (an in-process Invoker
		// caller's, as before the Info held them), else nowhere.
		ci = callinfo.New(st.Context)
	}
	ci.Service, ci.Method, ci.SeqID = m.svc, msg.Method, msg.SeqID
	if m.info == unknownMethodInfo {
		ci.Service = msg.Service // as received
	}
	// Apache Thrift clients send oneway calls as CALL: the method decides.
	ci.Oneway = msg.Type == codec.Oneway || m.info.Oneway
	ci.RemoteAddr = st.remote
	ci.Transport, ci.Codec = st.proto.Name(), c.Name()
	ci.Stats.Reset(s.level)
	ci.Stats.RecvSize = recvSize
	var result any
	if !ci.Oneway {
		result = m.info.NewResult()
	}
	var hctx context.Context = ci
	var cancel context.CancelFunc
	mh := st.meta
	if mh != nil {
		hctx, cancel = mh.ServerReadMeta(ci, msg)
	}
	hctx = s.startCall(ci, hctx)
	var err error
	if hctx.Err() != nil {
		err = s.dropExpired(st, ci, msg, hctx)
	} else {
		err = s.handle(ci, hctx, m, args, result)
	}
	if !ci.Oneway {
		msg.Payload = result
		replyErr := err
		if status.IsDeclared(err) {
			replyErr = nil // the exception travels in the result
		}
		if mh != nil {
			msg.Meta.Reset()
			if mh.ServerWriteMeta(hctx, msg, replyErr) {
				replyErr = nil // a business error the protocol carries in its header
			}
		}
		var werr error
		ci.Stats.SendSize, werr = s.writeReply(st, w, c, msg, replyErr, mh != nil, gen)
		if werr != nil && replyErr == nil {
			// The client did not get the call's outcome: an Internal
			// exception instead, or nothing (the connection went).
			err = werr
		}
	}
	s.finishCall(ci, hctx, err)
	if cancel != nil {
		cancel()
	}
	recycle(args)
	recycle(result)
}

// writeReply writes a call's reply under the connection's write lock and
// returns its size, and an error when the client will not get that reply
// (see reply; on a connection already gone, ErrConnLost). A worker of
// batch gen flushes it unless the reading goroutine still waits for that
// batch (it flushes the batch); any caller flushes once earlyReplyBytes
// are queued.
func (s *Server) writeReply(st *connState, w transport.Writer, c codec.Codec, msg *codec.Message, err error, metaReady bool, gen uint64) (int, error) {
	abandoned := false
	defer func() {
		if abandoned {
			st.closeAbandoned() // after the unlock below
		}
	}()
	st.wmu.Lock()
	defer st.wmu.Unlock() // a codec may panic: never leave the lock held
	if st.closed {
		return 0, errReplyConnGone
	}
	before := w.MallocLen()
	rerr := s.reply(st, w, c, msg, err, metaReady)
	if abandoned = st.closed; abandoned { // only reply sets it while the lock is held
		return 0, rerr
	}
	n := w.MallocLen() - before
	if flushesReply(gen, st.inBatch && st.gen == gen, w.MallocLen()) {
		if ferr := w.Flush(); ferr != nil {
			s.logReplyFailed(st, msg, "flush", ferr)
		}
	}
	return n, rerr
}

// errReplyConnGone is what writeReply reports for a call whose connection
// closed before its reply could be written.
var errReplyConnGone = status.Wrap(status.ErrConnLost, "server: connection closed before the reply was written", nil)

// flushesReply reports whether the goroutine that queued a reply writes
// what is queued (queued bytes): a worker (gen != 0) whose batch the
// reading goroutine no longer waits for (awaited false), or anyone once
// earlyReplyBytes are queued.
func flushesReply(gen uint64, awaited bool, queued int) bool {
	return gen != 0 && !awaited || queued >= earlyReplyBytes
}

// replyLocked is reply under the connection's write lock.
func (s *Server) replyLocked(st *connState, w transport.Writer, c codec.Codec, msg *codec.Message, err error, metaReady bool) {
	abandoned := false
	defer func() {
		if abandoned {
			st.closeAbandoned() // after the unlock below
		}
	}()
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if !st.closed {
		_ = s.reply(st, w, c, msg, err, metaReady) // logged
		abandoned = st.closed
	}
}

// recycle hands v back to its generated code for reuse, if it allows.
func recycle(v any) {
	if r, ok := v.(service.Recycler); ok {
		r.Recycle()
	}
}

// startCall records the start of a call and runs the tracers' Start; it
// returns the context the handler runs with.
func (s *Server) startCall(ci *callinfo.Info, ctx context.Context) context.Context {
	ci.Stats.Record(stats.RPCStart)
	for _, t := range s.opts.tracers {
		ctx = t.Start(ctx)
	}
	return ctx
}

// finishCall records the call's outcome, once its reply is written, and
// runs the tracers' Finish in reverse order.
func (s *Server) finishCall(ci *callinfo.Info, ctx context.Context, err error) {
	if ci.Stats.Err == nil {
		ci.Stats.Err = err
	}
	ci.Stats.Record(stats.RPCFinish)
	for i := len(s.opts.tracers) - 1; i >= 0; i-- {
		s.opts.tracers[i].Finish(ctx)
	}
}

// handle runs the middleware chain and the handler, turning a panic into
// an error. A declared exception in result comes back as a KindDeclared
// error (from the method's innermost endpoint).
func (s *Server) handle(ci *callinfo.Info, ctx context.Context, m *method, args, result any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("skiff: handler panicked", "service", ci.Service, "method", ci.Method, "panic", p, "stack", string(debug.Stack()))
			ci.Stats.Panic = p
			// The panic's value and stack go to the log only: they may
			// hold what the client must not see.
			err = status.Exception(status.TypeInternalError, "internal error in handler "+ci.Method)
		}
	}()
	ci.Stats.Record(stats.ServerHandleStart)
	err = m.ep(ctx, args, result)
	ci.Stats.Record(stats.ServerHandleFinish)
	return err
}

// declared returns the declared exception result holds as a KindDeclared
// error, or nil.
func declared(result any) error {
	if er, ok := result.(service.ExceptionResult); ok {
		if exc := er.DeclaredException(); exc != nil {
			return status.Declared(exc)
		}
	}
	return nil
}

// reply writes a reply or, when err is not nil, an exception, under the
// connection's write lock. Unless metaReady, the request's metadata is
// cleared first.
//
// A reply (or exception) that fails to encode (a Protobuf string that is
// not UTF-8, a frame over the protocol's limit) is taken back from the
// writer, and an Internal exception naming the failure goes to the client
// in its place, without the reply's metadata, as grpc-go does: the
// connection and the other calls on it are unharmed. reply then returns the failure, for the
// call's record. When the writer cannot take the partial frame back, or
// the exception cannot be written either, reply gives the connection up
// (abandonWrites: st.closed) instead of sending a broken frame, and its
// caller closes it. Failures are logged.
func (s *Server) reply(st *connState, w transport.Writer, c codec.Codec, msg *codec.Message, err error, metaReady bool) error {
	if !metaReady {
		msg.Meta.Reset()
	}
	if err != nil {
		msg.Type, msg.Payload, msg.Err = codec.Exception, nil, toException(err)
	} else {
		msg.Type = codec.Reply
	}
	msg.ConnReset = s.draining.Load()
	before := w.MallocLen()
	werr := st.proto.WriteMessage(w, msg, c)
	if werr == nil {
		return nil
	}
	s.logReplyFailed(st, msg, "write", werr)
	if !conn.Rewind(w, before) {
		abandonWrites(st, w) // the caller closes the connection
		return werr
	}
	// An Internal exception goes in its place (in place of the handler's
	// exception too, when that was what failed), without the reply's
	// metadata: a header the protocol refused may be why the reply failed,
	// and a business status carried there is not the outcome any more.
	msg.Meta.Reset()
	msg.Type, msg.Payload = codec.Exception, nil
	msg.Err = status.Exception(status.TypeInternalError, "encode reply of "+msg.Method+": "+werr.Error())
	if xerr := st.proto.WriteMessage(w, msg, c); xerr != nil {
		// Not even that: give the connection up, so that the client
		// fails now rather than at its timeout.
		s.logReplyFailed(st, msg, "write", xerr)
		abandonWrites(st, w)
		return werr
	}
	return status.Errorf(status.Internal, "encode reply of %s: %v", msg.Method, werr)
}

// abandonWrites gives up a connection whose writer holds bytes that must
// not be sent (part of a frame it cannot take back, or a write a panic cut
// short): closed keeps every call from writing or flushing, and the write
// session ends (conn.AbortWrite), so that Close need not wait for it. The
// caller holds the write lock (no other call's write is in progress), and
// closes the connection once it has released it: Close runs OnDisconnect,
// which takes the lock.
func abandonWrites(st *connState, w transport.Writer) {
	st.closed = true
	st.abandoned.Store(true)
	conn.AbortWrite(w)
}

// errAbandoned ends the serving of a connection whose writes were
// abandoned (abandonWrites).
var errAbandoned = status.Wrap(status.ErrConnLost, "server: connection given up after a reply could not be written", nil)

// closeAbandoned closes st's connection, if it has one (an Invoker's has
// none).
func (st *connState) closeAbandoned() {
	if st.conn != nil {
		_ = st.conn.Close()
	}
}

// logReplyFailed logs a reply that could not be written ("write", an
// error) or flushed ("flush", at debug level: the connection is going).
// Kept out of the reply path so that its stack frames stay small (a
// handler goroutine whose stack must grow pays for a copy).
//
//go:noinline
func (s *Server) logReplyFailed(st *connState, msg *codec.Message, what string, err error) {
	if what == "flush" {
		s.log.Debug("skiff: flush reply failed", "method", msg.Method, "remote", st.remote, "err", err)
		return
	}
	s.log.Error("skiff: write reply failed", "method", msg.Method, "remote", st.remote, "err", err)
}

// toException converts a handler error to the exception sent to the client.
func toException(err error) *status.Error {
	var se *status.Error
	if errors.As(err, &se) {
		if se.TypeID() == 0 {
			return se.WithTypeID(status.TypeForCode(se.Code()))
		}
		return se
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// DeadlineExceeded or Canceled reaches the client with its code.
		return status.Convert(err).WithTypeID(status.TypeInternalError)
	}
	return status.Exception(status.TypeInternalError, err.Error())
}

// connError logs err unless it is an ordinary end of connection, and
// returns it so the connection closes.
func (s *Server) connError(st *connState, op string, err error) error {
	if errors.Is(err, status.ErrProtocol) || errors.Is(err, status.ErrRemote) {
		s.log.Warn("skiff: bad request, closing connection", "op", op, "remote", st.remote, "err", err)
	}
	return err
}

func head(b []byte) []byte {
	if len(b) > 8 {
		return b[:8]
	}
	return b
}
