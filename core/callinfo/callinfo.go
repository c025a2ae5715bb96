package callinfo

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/stats"
)

// Info describes one call. It is also a context.Context: the parent context
// with the Info attached.
type Info struct {
	parent context.Context

	// Caller is the calling service's name, CallerMethod its method, when
	// known.
	Caller, CallerMethod string
	// Service is the callee service name; Method the method called.
	Service, Method string
	// Address is the callee instance address (client side) or the peer
	// address (server side).
	Address string
	// RemoteAddr is the peer's network address when a connection exists.
	RemoteAddr net.Addr
	// SeqID is the sequence id on the wire.
	SeqID int32
	// Oneway is true for a call that gets no reply.
	Oneway bool
	// RPCTimeout bounds the whole call; 0 means none.
	RPCTimeout time.Duration
	// ConnectTimeout bounds dialing; 0 means the client default.
	ConnectTimeout time.Duration
	// Transport and Codec name the protocols the call used.
	Transport, Codec string
	// Meta is the transport metadata received with the request (server) or
	// reply (client).
	Meta *codec.Metadata
	// Stats is the call's record.
	Stats stats.Record
}

type key struct{}

var pool = sync.Pool{New: func() any { return new(Info) }}

// New returns a pooled, empty Info attached to parent.
func New(parent context.Context) *Info {
	i := pool.Get().(*Info)
	i.parent = parent
	return i
}

// Release resets i and returns it to the pool. i must not be used after.
func (i *Info) Release() {
	*i = Info{}
	pool.Put(i)
}

// From returns the Info carried by ctx, or nil.
func From(ctx context.Context) *Info {
	if i, ok := ctx.(*Info); ok {
		return i
	}
	i, _ := ctx.Value(key{}).(*Info)
	return i
}

// Parent returns the context i was attached to.
func (i *Info) Parent() context.Context { return i.parent }

// Deadline implements context.Context.
func (i *Info) Deadline() (time.Time, bool) { return i.parent.Deadline() }

// Done implements context.Context.
func (i *Info) Done() <-chan struct{} { return i.parent.Done() }

// Err implements context.Context.
func (i *Info) Err() error { return i.parent.Err() }

// Value implements context.Context; it returns i for the package's key.
func (i *Info) Value(k any) any {
	if _, ok := k.(key); ok {
		return i
	}
	return i.parent.Value(k)
}

// String returns "callinfo(service.method)".
func (i *Info) String() string { return "callinfo(" + i.Service + "." + i.Method + ")" }
