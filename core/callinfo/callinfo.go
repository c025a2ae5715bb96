package callinfo

import (
	"context"
	"net"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/stats"
)

// Info describes one call: what the user asked for, on the client, or one
// request being served, on the server. It is also a context.Context: the
// parent context with the Info attached.
//
// An Info is never recycled. A context that carries one (a handler's
// context kept by a goroutine, or detached with context.WithoutCancel)
// keeps describing its own call for as long as anyone holds it.
//
// The runtime fills the fields before the call reaches middleware; after
// that, middleware and handlers may read them, and write only where a
// field's doc says so. On the client, the facts of each try on an instance
// (address, sequence id, wire stats) are in the call's [Attempt] records,
// not in Info.
type Info struct {
	parent context.Context

	// Caller is the calling service's name, CallerMethod its method, when
	// known.
	Caller, CallerMethod string
	// Service is the callee service name; Method the method called.
	Service, Method string
	// Target is the address a per-call option pinned the call to
	// (client.WithHostPort); empty when the balancer chooses (client only).
	Target string
	// RemoteAddr is the peer's network address (server only; on the client
	// see Attempt.RemoteAddr).
	RemoteAddr net.Addr
	// SeqID is the request's sequence id on the wire (server only; on the
	// client see Attempt.SeqID).
	SeqID    int32
	attempts atomic.Int32
	// Oneway is true for a call that gets no reply.
	Oneway bool
	// OverStreams is true on a client call made over a stream transport
	// (client.WithStreamTransport, such as HTTP/2 with gRPC): each attempt
	// is a stream of its own, and ending an attempt's context resets that
	// stream (the server sees the call canceled) without harming the
	// connection. On framed transports (false) ending the context of an
	// attempt that waits for its reply on a pooled connection closes that
	// connection. A retry module uses it to choose how to abandon a backup
	// request that lost.
	OverStreams bool
	inRecord    bool  // i is the info of a callRecord (NewCall)
	server      uint8 // i is the info of a serverRecord: serverInherit (New) or serverOwn (NewOwnBackward); 0 otherwise
	// RPCTimeout bounds the whole call; 0 means none.
	RPCTimeout time.Duration
	// ConnectTimeout bounds dialing; 0 means the client default.
	ConnectTimeout time.Duration
	// Transport and Codec name the protocols the call used.
	Transport, Codec string
	// Request is the request's metadata: client middleware sets keys to
	// send with the call; on the server it holds what the client sent.
	Request Metadata
	// Response is the reply's metadata: on the server, keys the handler or
	// middleware sets to send back with the reply; on the client, what the
	// reply of the last finished attempt carried, once the call returned.
	Response Metadata
	// Stats is the call's record. On the client it holds RPCStart,
	// RPCFinish and the outcome, and, once the call has returned, the wire
	// events and sizes of its last finished attempt.
	Stats stats.Record

	opts []option // per-call options (Key)
	last atomic.Pointer[Attempt]
}

// Attempt is one try of a client call on one instance. A call has one
// attempt, or more when a retry or a backup request tries again; each has
// its own record, so attempts running at once never share state. Middleware
// installed with client.WithInstanceMiddleware finds the attempt it runs in
// with [AttemptFrom].
type Attempt struct {
	call *Info
	// N numbers the attempts of a call from 1.
	N int
	// Instance is the instance the balancer picked; nil when the call was
	// pinned to an address (Info.Target).
	Instance discovery.Instance
	// Address is the address the attempt was sent to.
	Address string
	// RemoteAddr is the network address of the connection used.
	RemoteAddr net.Addr
	// SeqID is the request's sequence id on the wire.
	SeqID    int32
	released atomic.Bool
	// Stats is the attempt's record: connection, write and read events
	// and the bytes sent and received.
	Stats stats.Record
	// Response is the metadata the attempt's reply carried.
	Response Metadata
	// Err is the attempt's outcome, set when it ends.
	Err error
}

// ReleaseRequest records that the runtime no longer reads the call's
// request (its arguments) for this attempt: the request has been written
// to the connection, or the attempt ended. The client runtime calls it;
// EndAttempt does too.
func (a *Attempt) ReleaseRequest() { a.released.Store(true) }

// RequestReleased reports whether the runtime no longer reads the call's
// request for this attempt (see ReleaseRequest). Middleware that runs
// attempts at once (backup requests) and returns before a losing attempt
// ends waits for it before returning, since callers may recycle the
// arguments as soon as the call returns. It is safe to call from any
// goroutine.
func (a *Attempt) RequestReleased() bool { return a.released.Load() }

// Call returns the call the attempt belongs to.
func (a *Attempt) Call() *Info { return a.call }

type key struct{}

type attemptKey struct{}

// New returns a new Info attached to parent, for a call a server serves;
// a client call, which has attempts, uses NewCall.
//
// The Info answers metainfo.BackwardKey, so metainfo.SendBackwardValue
// works on a context derived from it: the values go to the collector
// parent carries, if it carries one (a stream codec's, made for this
// call), else to one the Info holds. Calls whose replies carry backward
// values and whose parent other calls share use NewOwnBackward, so that
// none sends back another's values.
func New(parent context.Context) *Info { return newServer(parent, serverInherit) }

// NewOwnBackward is New for a call whose parent context other calls share
// (a connection's, or the context an in-process server.Invoker was
// called with): the call's backward values always go to a collector the
// Info holds, never to one parent carries, so no call sees another's.
func NewOwnBackward(parent context.Context) *Info { return newServer(parent, serverOwn) }

// The backward-value modes of a server Info (Info.server).
const (
	serverInherit = 1 + iota // parent's collector, else its own
	serverOwn                // its own
)

func newServer(parent context.Context, mode uint8) *Info {
	r := &serverRecord{}
	r.info.parent, r.info.server = parent, mode
	return &r.info
}

// serverRecord is a server call's Info and the backward values it sends
// back (metainfo), in one allocation; client Infos need no slot. info
// must stay its first field: an Info with server set finds the slot by
// converting its own address.
type serverRecord struct {
	info     Info
	backward metainfo.BackwardSlot
}

// callRecord is a client call's Info and its first attempt in one
// allocation. info must stay its first field: an Info with inRecord set
// finds its first attempt by converting its own address.
type callRecord struct {
	info  Info
	first Attempt
}

// NewCall returns a new Info attached to parent, with room for its first
// attempt allocated with it (one allocation for a call that is not
// retried).
func NewCall(parent context.Context) *Info {
	c := &callRecord{}
	c.info.parent = parent
	c.info.inRecord = true
	return &c.info
}

// From returns the Info carried by ctx, or nil.
func From(ctx context.Context) *Info {
	if i, ok := ctx.(*Info); ok {
		return i
	}
	i, _ := ctx.Value(key{}).(*Info)
	return i
}

// AttemptFrom returns the attempt ctx runs in, or nil outside an attempt
// (on the server, or in client middleware that runs before instance
// selection).
func AttemptFrom(ctx context.Context) *Attempt {
	if i, ok := ctx.(*Info); ok {
		return i.firstAttempt()
	}
	a, _ := ctx.Value(attemptKey{}).(*Attempt)
	return a
}

// StartAttempt begins the next attempt of the call and returns the context
// it runs in, which carries the new [Attempt]. The client runtime calls it
// once per try, after the client middleware; the first must have started
// before others start, and then any number may run at once. The attempt's
// Stats are reset to the call's stats level.
func (i *Info) StartAttempt(ctx context.Context) (context.Context, *Attempt) {
	n := int(i.attempts.Add(1))
	if n == 1 && i.inRecord {
		a := &(*callRecord)(unsafe.Pointer(i)).first
		a.call, a.N = i, 1
		a.Stats.Reset(i.Stats.Level())
		return ctx, a
	}
	ac := &attemptCtx{Context: ctx}
	a := &ac.a
	a.call, a.N = i, n
	a.Stats.Reset(i.Stats.Level())
	return ac, a
}

// EndAttempt records err as a's outcome and releases its request (see
// Attempt.ReleaseRequest). Once the call has returned, the
// call's Stats hold the details of the attempt that ended last before it
// returned (see FinishStats).
func (i *Info) EndAttempt(a *Attempt, err error) {
	a.released.Store(true)
	a.Err = err
	i.last.Store(a)
}

// LastAttempt returns the attempt that ended last (see EndAttempt), or nil
// before any ended. Client middleware that calls next once per attempt
// finds there the record (instance, address, error) of the attempt that
// call made, once it has returned; with attempts running at once it is
// whichever ended last.
func (i *Info) LastAttempt() *Attempt { return i.last.Load() }

// Attempts returns how many attempts the call has started.
func (i *Info) Attempts() int { return int(i.attempts.Load()) }

// FinishStats copies the wire events and sizes, and the reply metadata, of
// the attempt that ended last into i.Stats and i.Response. The client
// runtime calls it when the call returns, before tracers finish.
func (i *Info) FinishStats() {
	if a := i.last.Load(); a != nil {
		i.Stats.CopyWire(&a.Stats)
		i.Response = a.Response
	}
}

// firstAttempt returns the preallocated first attempt of an Info from
// NewCall once it has started, or nil. (An Info from New carries its
// attempts in the contexts StartAttempt returns.)
func (i *Info) firstAttempt() *Attempt {
	if i.inRecord && i.attempts.Load() > 0 {
		return &(*callRecord)(unsafe.Pointer(i)).first
	}
	return nil
}

// Parent returns the context i was attached to.
func (i *Info) Parent() context.Context { return i.parent }

// Deadline implements context.Context.
func (i *Info) Deadline() (time.Time, bool) { return i.parent.Deadline() }

// Done implements context.Context.
func (i *Info) Done() <-chan struct{} { return i.parent.Done() }

// Err implements context.Context.
func (i *Info) Err() error { return i.parent.Err() }

// Value implements context.Context; it returns i for the package's key and
// the call's first attempt for the attempt key.
func (i *Info) Value(k any) any {
	switch k.(type) {
	case key:
		return i
	case attemptKey:
		if a := i.firstAttempt(); a != nil {
			return a
		}
		return nil
	case metainfo.BackwardKey:
		if i.server == serverInherit {
			// A collector made for this call before its Info (by a
			// stream codec that writes its reply with its own context)
			// keeps the values.
			if s, _ := i.parent.Value(k).(*metainfo.BackwardSlot); s != nil {
				return s
			}
		}
		if i.server != 0 {
			return &(*serverRecord)(unsafe.Pointer(i)).backward
		}
	}
	return i.parent.Value(k)
}

// String returns "callinfo(service.method)".
func (i *Info) String() string { return "callinfo(" + i.Service + "." + i.Method + ")" }

// attemptCtx carries an attempt after the first.
type attemptCtx struct {
	context.Context
	a Attempt
}

func (c *attemptCtx) Value(k any) any {
	if _, ok := k.(attemptKey); ok {
		return &c.a
	}
	return c.Context.Value(k)
}
