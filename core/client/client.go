package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/gcfloor"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/core/transport"
)

// Client calls the methods of one service. It is safe for concurrent use;
// Close it to release its connections.
type Client struct {
	svc      *service.Info
	opts     options
	log      *slog.Logger
	level    stats.Level
	proto    transport.Protocol
	meta     transport.MetaHandler // proto's, if it carries metadata
	codec    codec.Codec
	pool     connPool
	mux      *muxPool
	auto     *muxPool     // the default mode's multiplexed connections, for upgraded addresses
	upgraded sync.Map     // addr -> struct{}: its server serves calls out of order (auto)
	tlsNames sync.Map     // addr -> host name a WithURL call resolved to it (TLS ServerName)
	spool    *streamPool  // with a stream transport
	scodec   stream.Codec // with a stream transport
	tname    string       // transport name for call info
	cname    string       // codec name for call info
	ep       endpoint.Endpoint
	inner    endpoint.Endpoint
	picker   atomic.Pointer[pickerEntry]
	sub      *subscription // the client's view of discovery; nil without a resolver
	seq      atomic.Int32
	waiting  atomic.Int32 // ping-pong calls waiting for their reply
	closed   atomic.Bool

	diagStop func() // unregisters the client's probe (WithDiagnosis)
}

type pickerEntry struct {
	picker   loadbalance.Picker
	errPick  loadbalance.ErrorPicker // picker's capabilities, found once when it is built
	feedback loadbalance.Feedback
	n        int // instances in the set the picker was built over
}

func newPickerEntry(p loadbalance.Picker, n int) *pickerEntry {
	pe := &pickerEntry{picker: p, n: n}
	pe.errPick, _ = p.(loadbalance.ErrorPicker)
	pe.feedback, _ = p.(loadbalance.Feedback)
	return pe
}

// New returns a client of the service svc configured by opts. It fails
// when an option is invalid (such as an address without a port given to
// WithHostPorts), or when no codec is registered for svc.Codec and none is
// given.
func New(svc *service.Info, opts ...Option) (*Client, error) {
	if svc == nil {
		return nil, errors.New("client: nil service info")
	}
	o := options{engine: engine.Default, transport: transport.Framed, connectTimeout: DefaultConnectTimeout,
		pool: DefaultPoolConfig, maxFrame: transport.DefaultMaxFrameSize, heapFloor: gcfloor.Default}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.err != nil {
		return nil, o.err
	}
	c := &Client{svc: svc, opts: o, log: o.logger, proto: o.transport, codec: o.codec}
	if c.log == nil {
		c.log = slog.Default()
	}
	if pm, ok := c.proto.(transport.MetaHandler); ok {
		c.meta = transport.ChainMeta(append([]transport.MetaHandler{pm}, o.metaHandlers...)...)
	}
	if o.tls != nil && o.engineSet && o.engine.Name() != engine.Std.Name() {
		// Framed and stream transports alike dial TLS on the std engine.
		return nil, fmt.Errorf("client: WithTLSConfig needs the std engine, not %s (Netpoll has no TLS); leave WithEngine out", o.engine.Name())
	}
	if o.tls != nil && o.streamProto == nil {
		o.engine = newTLSEngine(o.tls, &c.tlsNames)
		c.opts.engine = o.engine
	}
	if o.streamProto != nil {
		if c.scodec = o.streamCodec; c.scodec == nil {
			if cs := stream.Codecs(); len(cs) > 0 {
				c.scodec = defaultStreamCodec(cs, o.streamProto.Name())
			} else {
				return nil, errors.New("client: WithStreamTransport without a stream codec (import codec-grpc, or use WithStreamCodec)")
			}
		}
		c.tname, c.cname = o.streamProto.Name(), c.scodec.Name()
	} else {
		if c.codec == nil {
			if c.codec = codec.Lookup(svc.Codec); c.codec == nil {
				return nil, fmt.Errorf("client: no codec registered as %q (import its module, or use WithCodec)", svc.Codec)
			}
		}
		c.tname, c.cname = c.proto.Name(), c.codec.Name()
	}
	if o.balancer == nil {
		c.opts.balancer = loadbalance.NewWeightedRoundRobin()
	}
	for _, w := range o.balancerWrappers {
		c.opts.balancer = w(c.opts.balancer)
	}
	for _, w := range o.resolverWrappers {
		if c.opts.resolver != nil {
			c.opts.resolver = w(c.opts.resolver)
		}
	}
	if o.statsLevel != nil {
		c.level = *o.statsLevel
	} else if len(o.tracers) > 0 {
		c.level = stats.LevelDetailed
	}
	if len(o.modes) > 1 {
		return nil, fmt.Errorf("client: %s: give one connection mode, not several", strings.Join(o.modes, " and "))
	}
	inner := c.roundTrip
	switch {
	case o.streamProto != nil:
		c.spool = newStreamPool(c)
		inner = c.streamCall
	case o.mux > 0:
		c.mux = newMuxPool(c, o.mux)
	case o.short:
		c.pool = shortPool{eng: o.engine}
	default:
		c.pool = newLongPool(o.engine, o.pool)
		if oc, ok := c.proto.(transport.OutOfOrderCarrier); ok && oc.CarriesOutOfOrder() && len(o.modes) == 0 {
			c.auto = newMuxPool(c, 1) // dials nothing until an address is upgraded
		}
	}
	c.inner = endpoint.Build(func(ctx context.Context, req, resp any) error {
		if a, ok := req.(*stream.Args); ok {
			return c.openStream(ctx, a, resp)
		}
		if err := inner(ctx, req, resp); err != nil {
			return err
		}
		return declared(resp)
	}, o.instanceMWs...)
	c.ep = endpoint.Build(c.balance, o.middlewares...)
	if c.opts.resolver != nil {
		refresh := o.refresh
		if refresh <= 0 {
			refresh = DefaultDiscoveryRefresh
		}
		c.sub = subscribe(c.opts.resolver, svc.Name, refresh, c.onChange)
	}
	c.registerDiag()
	gcfloor.Raise(o.heapFloor)
	return c, nil
}

// Close closes the client's idle connections and stops its background
// work. Calls in flight finish; their connections are then closed. With a
// stream transport, Close closes the stream connections at once: calls and
// streams still open on them fail.
func (c *Client) Close() error {
	if !c.closed.Swap(true) {
		if c.diagStop != nil {
			c.diagStop()
		}
		if c.sub != nil {
			c.sub.close()
		}
		if c.spool != nil {
			c.spool.close()
		} else if c.mux != nil {
			c.mux.close()
		} else {
			c.pool.close()
			if c.auto != nil {
				c.auto.close()
			}
		}
	}
	return nil
}

// Call calls method with args and fills result. args and result are the
// method's argument and result values (generated XxxArgs / XxxResult);
// result is ignored for oneway methods. A declared exception arrives inside
// result and Call returns nil; other failures are returned as errors
// (*status.Error).
//
// For generic calls and forwarding, args may be an encoded payload, a
// codec.Raw (or *codec.Raw), and result a *codec.Raw that gets the reply's
// payload undecoded (a Thrift result struct, declared exceptions included;
// a protobuf message). method need not be in the client's service.Info: a
// method it does not list is called as a two-way (not oneway) call.
//
// The context the middleware and tracers see carries a fresh
// callinfo.Info; it stays valid after Call returns. Middleware and tracers
// see a declared exception as an error of kind status.KindDeclared.
func (c *Client) Call(ctx context.Context, method string, args, result any, opts ...CallOption) error {
	if c.closed.Load() {
		return status.New(status.Canceled, "client closed")
	}
	ci := c.newCallInfo(ctx, method, opts)
	ci.Stats.Reset(c.level)
	ci.Stats.Record(stats.RPCStart)
	var cctx context.Context = ci
	for _, t := range c.opts.tracers {
		cctx = t.Start(cctx)
	}
	err := c.ep(cctx, args, result)
	c.finish(ci, cctx, err)
	if err != nil && status.IsDeclared(err) {
		return nil // the declared exception is in result
	}
	return err
}

// finish records the end of a call, with the wire facts of its last
// attempt, and runs the tracers' Finish.
func (c *Client) finish(ci *callinfo.Info, ctx context.Context, err error) {
	ci.FinishStats()
	c.finishCall(ci, ctx, err)
}

// finishCall records the end of a call and runs the tracers' Finish.
func (c *Client) finishCall(ci *callinfo.Info, ctx context.Context, err error) {
	ci.Stats.Err = err
	ci.Stats.Record(stats.RPCFinish)
	for i := len(c.opts.tracers) - 1; i >= 0; i-- {
		c.opts.tracers[i].Finish(ctx)
	}
}

// declared returns the declared exception resp holds as a KindDeclared
// error, or nil.
func declared(resp any) error {
	if er, ok := resp.(service.ExceptionResult); ok {
		if exc := er.DeclaredException(); exc != nil {
			return status.Declared(exc)
		}
	}
	return nil
}

// newCallInfo returns the call info of a call of method from ctx.
func (c *Client) newCallInfo(ctx context.Context, method string, opts []CallOption) *callinfo.Info {
	caller, callerMethod := c.opts.caller, ""
	if parent := callinfo.From(ctx); parent != nil {
		// Called from inside a handler: the caller is that call's callee.
		callerMethod = parent.Method
		if caller == "" {
			caller = parent.Service
		}
	}
	ci := callinfo.NewCall(ctx)
	ci.Caller, ci.CallerMethod, ci.Service, ci.Method = caller, callerMethod, c.svc.Name, method
	ci.RPCTimeout, ci.ConnectTimeout = c.opts.rpcTimeout, c.opts.connectTimeout
	ci.Transport, ci.Codec = c.tname, c.cname
	ci.OverStreams = c.spool != nil
	if mi := c.svc.Methods[method]; mi != nil {
		ci.Oneway = mi.Oneway
	}
	if len(opts) > 0 {
		var co callOptions
		for _, o := range opts {
			o.applyCall(&co)
		}
		ci.Target = co.hostPort
		if co.url != "" && co.hostPort == "" {
			urlKey.Set(ci, co.url)
		}
		if co.timeout > 0 {
			ci.RPCTimeout = co.timeout
		}
		for _, set := range co.sets {
			set(ci)
		}
	}
	return ci
}

// pick sets the attempt's instance and address from the current picker,
// built from the last instance set discovery delivered. Only the first
// call of a client (before any instance set) waits for the resolver.
func (c *Client) pick(ctx context.Context, at *callinfo.Attempt, avoid []string) (*pickerEntry, error) {
	if c.sub == nil {
		return nil, status.Wrap(status.ErrNoInstance, "no resolver and no host ports for "+c.svc.Name, nil)
	}
	pe := c.picker.Load()
	if pe == nil {
		if err := c.sub.t.ensure(ctx); err != nil {
			return nil, err
		}
		if pe = c.picker.Load(); pe == nil {
			return nil, status.Wrap(status.ErrNoInstance, "no instance of "+c.svc.Name, nil)
		}
	}
	var in discovery.Instance
	// An instance to avoid (it refused this call) is picked again at most
	// a few times before it is taken all the same.
	for try := 0; ; try++ {
		if pe.errPick != nil {
			var err error
			if in, err = pe.errPick.Pick(ctx); err != nil {
				return nil, err
			}
		} else {
			in = pe.picker.Next(ctx)
		}
		if in == nil || len(avoid) == 0 || try >= 4*pe.n || !slices.Contains(avoid, in.Address()) {
			break
		}
	}
	if in == nil {
		return nil, status.Wrap(status.ErrNoInstance, "no instance of "+c.svc.Name, nil)
	}
	at.Instance, at.Address = in, in.Address()
	return pe, nil
}

// balance starts an attempt, picks its instance (unless the call is pinned
// to an address), then runs the instance middleware. Each time the client
// middleware calls it is a new attempt with its own record.
//
// When the connection to the picked instance is refused or reset while
// connecting (nothing was sent: the instance is gone or going, though
// discovery still lists it) and there are other instances, the call is
// balanced again, away from the instances that refused it (up to
// maxRebalance times), as grpc-go never sends a call to a backend it could
// not connect to while another is up. A refused dial is fast, so this
// costs failed dials, not a timeout.
func (c *Client) balance(ctx context.Context, req, resp any) error {
	ci := callinfo.From(ctx)
	set := c.picker.Load() // the instance set the first pick saw
	actx, at := ci.StartAttempt(ctx)
	err := c.attempt(actx, ci, at, req, nil, resp)
	ci.EndAttempt(at, err)
	var avoid []string
	// Balanced again while other instances may take it: the set is larger
	// than the instances that refused, or discovery changed it meanwhile
	// (it may have dropped the refusing instance while its dial failed,
	// leaving one other).
	for i := 0; i < maxRebalance && err != nil && refused(err) && ci.Target == "" && ctx.Err() == nil &&
		c.instances() > 0 && (c.instances() > len(avoid)+1 || c.picker.Load() != set); i++ {
		avoid = append(avoid, at.Address)
		actx, at = ci.StartAttempt(ctx)
		err = c.attempt(actx, ci, at, req, avoid, resp)
		ci.EndAttempt(at, err)
	}
	return err
}

// lowWaiters: while at most this many ping-pong calls of a client wait for
// their replies, each announces a short wait to the engine
// (conn.ShortWaiter) as it starts waiting. On Netpoll with one P, the
// scheduler's fairness turn (one schedule in 61 takes the global queue
// first) can hand the P back to the poller just after it woke the caller
// a reply was for; the poller then blocks in epoll_wait with the caller
// runnable until the engine's waker expires. With many calls waiting,
// their replies end such a stall at once; with one or two nothing does,
// and it lasted up to the waker's slow period (2 ms): pinned at c=1,
// 1.6 % of calls, p99 1.3 ms against 0.2 ms on the std engine. Announced
// waits keep the waker at its fast period while so few calls wait.
const lowWaiters = 2

// maxRebalance bounds how many times a refused call is balanced again.
const maxRebalance = 2

// defaultStreamCodec is the first of cs made for the stream protocol
// named proto (stream.ProtocolMatcher), else the first that says nothing
// about protocols, else the first.
func defaultStreamCodec(cs []stream.Codec, proto string) stream.Codec {
	var neutral stream.Codec
	for _, c := range cs {
		pm, ok := c.(stream.ProtocolMatcher)
		switch {
		case ok && pm.ForProtocol(proto):
			return c
		case !ok && neutral == nil:
			neutral = c
		}
	}
	if neutral != nil {
		return neutral
	}
	return cs[0]
}

// instances is the size of the current instance set.
func (c *Client) instances() int {
	if pe := c.picker.Load(); pe != nil {
		return pe.n
	}
	return 0
}

// refused reports whether err is a dial the peer refused (nothing
// listens there any more) or reset (its listener closed with the dial in
// its backlog): nothing was sent.
func refused(err error) bool {
	return errors.Is(err, status.ErrConnect) && (errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET))
}

func (c *Client) attempt(ctx context.Context, ci *callinfo.Info, at *callinfo.Attempt, req any, avoid []string, resp any) (err error) {
	if at.Address = ci.Target; at.Address != "" {
		return c.inner(ctx, req, resp)
	}
	if u, ok := urlKey.Get(ci); ok {
		r := c.opts.httpResolver
		if r == nil {
			r = defaultHTTPResolver
		}
		addr, err := r.ResolveURL(ctx, u)
		if err != nil {
			return status.Wrap(status.ErrNoInstance, "resolve URL "+u, err)
		}
		at.Address = addr
		if c.opts.tls != nil {
			c.rememberTLSName(u, addr)
		}
		return c.inner(ctx, req, resp)
	}
	pe, err := c.pick(ctx, at, avoid)
	if err != nil {
		return err
	}
	fb := pe.feedback
	if fb == nil {
		return c.inner(ctx, req, resp)
	}
	start := time.Now()
	returned := false
	defer func() {
		if !returned {
			// The call path panicked: the picker's Done is still owed
			// (a breaker's probe, a balancer's count in flight).
			fb.Done(ctx, at.Instance, loadbalance.DoneInfo{Err: errPanicked, Latency: time.Since(start)})
		}
	}()
	err = c.inner(ctx, req, resp)
	returned = true
	fb.Done(ctx, at.Instance, loadbalance.DoneInfo{Err: err, Latency: time.Since(start)})
	return err
}

// errPanicked is the outcome a picker is told of an attempt whose call
// path panicked.
var errPanicked = status.New(status.Internal, "the call path panicked")

// urlKey carries a WithURL call's URL to its attempts.
var urlKey = callinfo.NewKey[string]("client.url")

// defaultHTTPResolver resolves WithURL calls when WithHTTPResolver is not
// given; it holds no state.
var defaultHTTPResolver = discovery.NewHTTPResolver("tcp")

var messages = sync.Pool{New: func() any { return new(codec.Message) }}

func network(addr string) string {
	if strings.ContainsRune(addr, '/') {
		return "unix"
	}
	return "tcp"
}

// roundTrip sends one request on a pooled connection and reads its reply
// (ping-pong: one call at a time per connection).
func (c *Client) roundTrip(ctx context.Context, req, resp any) error {
	ci, at := callinfo.From(ctx), callinfo.AttemptFrom(ctx)
	if err := ctx.Err(); err != nil {
		return ctxError(err)
	}
	var deadline time.Time
	if ci.RPCTimeout > 0 {
		deadline = time.Now().Add(ci.RPCTimeout)
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	ct := ci.ConnectTimeout
	if !deadline.IsZero() {
		left := time.Until(deadline)
		if left <= 0 {
			return status.Wrap(status.ErrTimeout, "rpc timeout before the request was sent", nil)
		}
		if ct <= 0 || left < ct {
			ct = left
		}
	}
	mux := c.mux
	if mux == nil && c.auto != nil {
		if _, ok := c.upgraded.Load(at.Address); ok {
			mux = c.auto
		}
	}
	if mux != nil {
		err := c.muxRoundTrip(mux, ctx, ci, at, deadline, ct, req, resp)
		if errors.Is(err, status.ErrUnsent) && !errors.Is(err, status.ErrConnect) && ctx.Err() == nil {
			// Transparent retry: the connection had failed before the
			// request was queued; nothing reached the wire.
			err = c.muxRoundTrip(mux, ctx, ci, at, deadline, ct, req, resp)
		}
		return err
	}
	at.Stats.Record(stats.ClientConnStart)
	pc, err := c.pool.get(network(at.Address), at.Address, ct)
	at.Stats.Record(stats.ClientConnFinish)
	if err != nil {
		return connectError(at, deadline, err)
	}
	reused := pc.reused
	err = c.pingPong(ctx, ci, at, pc, deadline, req, resp)
	if reused && errors.Is(err, status.ErrUnsent) && ctx.Err() == nil {
		// Transparent retry: a pooled connection failed before the request
		// reached the wire (the server closed it, or restarted). Try once
		// more on a fresh connection, as grpc-go does for streams that
		// never left the client.
		at.Stats.Record(stats.ClientConnStart)
		pc, err = c.pool.dial(network(at.Address), at.Address, ct)
		at.Stats.Record(stats.ClientConnFinish)
		if err != nil {
			return connectError(at, deadline, err)
		}
		err = c.pingPong(ctx, ci, at, pc, deadline, req, resp)
	}
	return err
}

// timeoutText says which bound a call ran out of: its RPC timeout, or
// (without one) its context's deadline.
func timeoutText(d time.Duration) string {
	if d > 0 {
		return "within " + d.String()
	}
	return "before the context's deadline"
}

// encodeError is the error of a request that could not be encoded: err
// itself when it is a *status.Error, otherwise an Internal error.
func encodeError(err error) error {
	if err == nil {
		return nil
	}
	var se *status.Error
	if errors.As(err, &se) {
		return err
	}
	return status.Errorf(status.Internal, "encode request: %v", err)
}

// connectError is the error of a failed dial: a timeout when the call's
// deadline passed meanwhile, a connect error (which is also unsent)
// otherwise.
func connectError(at *callinfo.Attempt, deadline time.Time, err error) error {
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return status.Wrap(status.ErrTimeout, "rpc timeout while connecting to "+at.Address, err)
	}
	return status.Wrap(status.ErrConnect, "connect to "+at.Address, err)
}

// pingPong sends one request on pc and reads its reply, then returns pc
// to the pool or closes it. An error matching status.ErrUnsent means no
// byte of the request reached the server.
func (c *Client) pingPong(ctx context.Context, ci *callinfo.Info, at *callinfo.Attempt, pc *pconn, deadline time.Time, req, resp any) error {
	at.RemoteAddr = pc.RemoteAddr()
	var err error
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
	msg.OutOfOrder = c.auto != nil // offered: a Skiff server says it takes it
	at.SeqID = msg.SeqID

	if c.meta != nil {
		c.meta.ClientWriteMeta(ctx, msg)
	}
	at.Stats.Record(stats.WriteStart)
	w := pc.Writer()
	if err = c.proto.WriteMessage(w, msg, c.codec); err != nil {
		// The request could not be encoded: nothing was sent, but the
		// writer may hold part of it, so the connection goes. This is the
		// request's fault, not the connection's: no transparent retry.
		at.Stats.Record(stats.WriteFinish)
		conn.AbortWrite(w)
		c.pool.discard(pc)
		return encodeError(err)
	}
	at.Stats.SendSize = w.MallocLen()
	err = w.Flush()
	at.Stats.Record(stats.WriteFinish)
	if err != nil {
		c.pool.discard(pc)
		// A failed flush did not hand the whole frame to the network: the
		// server cannot have read the request.
		return status.Wrap(status.ErrUnsent, "send request to "+at.Address, err)
	}
	at.ReleaseRequest() // written: the request is not read again (a failed write may be retried above)
	if ci.Oneway {
		c.pool.put(pc)
		return nil
	}

	var timeout time.Duration
	if !deadline.IsZero() {
		if timeout = time.Until(deadline); timeout <= 0 {
			c.pool.discard(pc)
			return status.Wrap(status.ErrTimeout, "rpc timeout waiting for "+ci.Method, nil)
		}
	}
	_ = pc.SetReadTimeout(timeout)
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { _ = pc.Close() })
	}
	at.Stats.Record(stats.ReadStart)
	msg.Meta.Reset() // the reply's headers, not the request's, are read into it
	err = c.awaitReply(pc, msg, resp)
	at.Stats.Record(stats.ReadFinish)
	at.Stats.RecvSize = msg.Size
	canceled := stop != nil && !stop()
	if err != nil || canceled {
		c.pool.discard(pc)
		switch {
		case canceled:
			return ctxError(ctx.Err())
		case !deadline.IsZero() && !time.Now().Before(deadline):
			return status.Wrap(status.ErrTimeout, fmt.Sprintf("rpc timeout: no reply to %s from %s %s", ci.Method, at.Address, timeoutText(ci.RPCTimeout)), nil)
		}
		var se *status.Error
		if errors.As(err, &se) && se.Kind() != status.KindNone {
			return err
		}
		return status.Wrap(status.ErrConnLost, "read reply from "+at.Address, err)
	}
	if msg.ConnReset || msg.SeqID != at.SeqID {
		// The server is shutting down, or answered a request it could not
		// read (an exception without our sequence id): it may close.
		c.pool.discard(pc)
	} else if msg.OutOfOrder && c.auto != nil {
		// The server serves calls out of order: multiplex from now on,
		// on this very connection.
		_ = pc.SetReadTimeout(0) // the read loop waits for replies for good
		if _, done := c.upgraded.LoadOrStore(at.Address, struct{}{}); done || !c.auto.adopt(at.Address, pc.Conn) {
			c.pool.put(pc)
		}
	} else {
		c.pool.put(pc)
	}
	if msg.Err != nil {
		return msg.Err
	}
	if c.meta != nil {
		return c.meta.ClientReadMeta(ctx, msg)
	}
	return nil
}

// awaitReply is readReply, counted among the calls waiting for a reply
// (see lowWaiters).
func (c *Client) awaitReply(pc *pconn, msg *codec.Message, resp any) error {
	defer c.waiting.Add(-1) // a codec's panic is recovered above: the count stays right
	if c.waiting.Add(1) <= lowWaiters {
		if sw, ok := pc.Conn.(conn.ShortWaiter); ok {
			sw.ShortWait()
		}
	}
	return c.readReply(pc, msg, resp)
}

// readReply reads and decodes the reply to msg (whose SeqID and Method are
// the request's) into resp, or into msg.Err for an exception. An error
// means the connection must not be reused.
func (c *Client) readReply(pc *pconn, msg *codec.Message, resp any) error {
	r := pc.Reader()
	seq, method := msg.SeqID, msg.Method
	payload, err := c.proto.ReadMessage(r, msg, c.opts.maxFrame)
	if err != nil {
		return err
	}
	n, err := codec.Envelope(c.codec, payload, msg)
	if err != nil {
		return err
	}
	// Kitex answers a request it cannot route (Kitex Protobuf over plain
	// Framed) with an exception of sequence id 0, and its clients ignore the
	// id of exceptions; on a ping-pong connection the reply can only be to
	// this request, so do the same.
	if msg.SeqID != seq && msg.Type != codec.Exception {
		return status.Protocolf("bad sequence id in reply to %s: got %d, want %d", method, msg.SeqID, seq).WithTypeID(status.TypeBadSequenceID)
	}
	if msg.Method != method {
		return status.Protocolf("wrong method name in reply: got %q, want %q", msg.Method, method).WithTypeID(status.TypeWrongMethodName)
	}
	switch msg.Type {
	case codec.Reply:
		msg.Payload = resp
	case codec.Exception:
		msg.Payload = nil
	default:
		return status.Protocolf("invalid message type %s in reply to %s", msg.Type, method).WithTypeID(status.TypeInvalidMessageType)
	}
	if err := c.codec.DecodePayload(payload[n:], msg); err != nil {
		return err
	}
	return r.Release()
}

func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Wrap(status.ErrTimeout, "context deadline exceeded", err)
	}
	return status.Wrap(status.ErrCanceled, "context canceled", err)
}
