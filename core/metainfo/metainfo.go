package metainfo

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/skiffrpc/skiff/core/codec"
)

// Wire prefixes, as Kitex writes them.
const (
	PrefixTransient  = "RPC_TRANSIT_"
	PrefixPersistent = "RPC_PERSIST_"
	PrefixBackward   = "RPC_BACKWARD_"
)

// kv is one key/value.
type kv struct{ k, v string }

// node is the metadata attached to a context. Slices are never modified
// after the node is attached; With functions copy.
type node struct {
	transient  []kv // set by this hop for the next one
	upstream   []kv // transient values received from the caller
	persistent []kv
}

type nodeKey struct{}

func get(ctx context.Context) *node {
	n, _ := ctx.Value(nodeKey{}).(*node)
	return n
}

func set(list []kv, k, v string) []kv {
	out := make([]kv, 0, len(list)+1)
	for _, e := range list {
		if e.k != k {
			out = append(out, e)
		}
	}
	return append(out, kv{k, v})
}

func lookup(list []kv, k string) (string, bool) {
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].k == k {
			return list[i].v, true
		}
	}
	return "", false
}

func with(ctx context.Context, f func(n *node)) context.Context {
	var n node
	if old := get(ctx); old != nil {
		n = *old
	}
	f(&n)
	return context.WithValue(ctx, nodeKey{}, &n)
}

// WithValue returns ctx with a transient value: sent to the next hop only.
// Empty keys or values are ignored.
func WithValue(ctx context.Context, k, v string) context.Context {
	if k == "" || v == "" {
		return ctx
	}
	return with(ctx, func(n *node) { n.transient = set(n.transient, k, v) })
}

// WithPersistentValue returns ctx with a persistent value: sent down every
// hop of the call chain. Empty keys or values are ignored.
func WithPersistentValue(ctx context.Context, k, v string) context.Context {
	if k == "" || v == "" {
		return ctx
	}
	return with(ctx, func(n *node) { n.persistent = set(n.persistent, k, v) })
}

// GetValue returns a transient value set in this process or received from
// the caller.
func GetValue(ctx context.Context, k string) (string, bool) {
	n := get(ctx)
	if n == nil {
		return "", false
	}
	if v, ok := lookup(n.transient, k); ok {
		return v, true
	}
	return lookup(n.upstream, k)
}

// GetPersistentValue returns a persistent value.
func GetPersistentValue(ctx context.Context, k string) (string, bool) {
	n := get(ctx)
	if n == nil {
		return "", false
	}
	return lookup(n.persistent, k)
}

// GetAllValues returns every transient value visible in ctx, or nil.
func GetAllValues(ctx context.Context) map[string]string {
	n := get(ctx)
	if n == nil || len(n.transient)+len(n.upstream) == 0 {
		return nil
	}
	m := make(map[string]string, len(n.transient)+len(n.upstream))
	for _, e := range n.upstream {
		m[e.k] = e.v
	}
	for _, e := range n.transient {
		m[e.k] = e.v
	}
	return m
}

// GetAllPersistentValues returns every persistent value in ctx, or nil.
func GetAllPersistentValues(ctx context.Context) map[string]string {
	n := get(ctx)
	if n == nil || len(n.persistent) == 0 {
		return nil
	}
	m := make(map[string]string, len(n.persistent))
	for _, e := range n.persistent {
		m[e.k] = e.v
	}
	return m
}

// AppendWire appends the values ctx sends to the next hop, as prefixed
// string keys: the transient values set in this process (not those
// received from upstream) and every persistent value.
func AppendWire(ctx context.Context, dst []codec.StrKV) []codec.StrKV {
	n := get(ctx)
	if n == nil {
		return dst
	}
	for _, e := range n.transient {
		dst = append(dst, codec.StrKV{Key: PrefixTransient + e.k, Value: e.v})
	}
	for _, e := range n.persistent {
		dst = append(dst, codec.StrKV{Key: PrefixPersistent + e.k, Value: e.v})
	}
	return dst
}

// FromWire returns ctx with the values a server received from its caller:
// RPC_TRANSIT_ keys become transient values visible at this hop only, and
// RPC_PERSIST_ keys persistent values that go on down the chain. Other keys
// are ignored. With nothing to add it returns ctx itself.
func FromWire(ctx context.Context, kvs []codec.StrKV) context.Context {
	var up, pers []kv
	for _, p := range kvs {
		switch {
		case strings.HasPrefix(p.Key, PrefixTransient):
			up = append(up, kv{p.Key[len(PrefixTransient):], p.Value})
		case strings.HasPrefix(p.Key, PrefixPersistent):
			pers = append(pers, kv{p.Key[len(PrefixPersistent):], p.Value})
		}
	}
	if len(up)+len(pers) == 0 {
		return ctx
	}
	return with(ctx, func(n *node) {
		n.transient = nil // values set by the caller's caller never go two hops
		n.upstream = up
		for _, e := range pers {
			n.persistent = set(n.persistent, e.k, e.v)
		}
	})
}

// backward collects backward values.
type backward struct {
	mu     sync.Mutex
	values []kv
}

// BackwardKey is the context key of a call's backward values: its value
// is a *[BackwardSlot]. [WithBackwardValues] attaches one; a server
// runtime that gives each call a context of its own can answer the key
// from that context instead (callinfo.Info does for server calls), which
// spares a context and a collector per call.
type BackwardKey struct{}

// BackwardSlot holds the backward values of one call. The zero value is
// ready and allocates nothing until a value is stored in it.
type BackwardSlot struct {
	p atomic.Pointer[backward]
}

// get returns the slot's collector, creating it when create is set (nil
// otherwise when none exists yet).
func (s *BackwardSlot) get(create bool) *backward {
	if b := s.p.Load(); b != nil || !create {
		return b
	}
	s.p.CompareAndSwap(nil, &backward{})
	return s.p.Load()
}

// slot returns the backward slot ctx carries, or nil.
func slot(ctx context.Context) *BackwardSlot {
	s, _ := ctx.Value(BackwardKey{}).(*BackwardSlot)
	return s
}

// WithBackwardValues returns ctx ready to receive backward values from the
// server of the next call; read them after the call with
// RecvBackwardValue.
func WithBackwardValues(ctx context.Context) context.Context {
	return context.WithValue(ctx, BackwardKey{}, &BackwardSlot{})
}

// ServerBackwardValues returns ctx ready for the backward values a server
// call sends back: ctx itself when it already carries a slot (a server
// call's callinfo.Info does), otherwise WithBackwardValues(ctx). Server
// transports call it with the context they build for a request.
func ServerBackwardValues(ctx context.Context) context.Context {
	if slot(ctx) != nil {
		return ctx
	}
	return WithBackwardValues(ctx)
}

// SetBackwardValuesFromWire stores the RPC_BACKWARD_ keys of a reply in the
// collector of ctx, if it has one. Transports call it on the client.
func SetBackwardValuesFromWire(ctx context.Context, kvs []codec.StrKV) {
	s := slot(ctx)
	if s == nil {
		return
	}
	var b *backward
	for _, p := range kvs {
		if strings.HasPrefix(p.Key, PrefixBackward) {
			b = s.get(true)
			break
		}
	}
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range kvs {
		if strings.HasPrefix(p.Key, PrefixBackward) {
			b.values = set(b.values, p.Key[len(PrefixBackward):], p.Value)
		}
	}
}

// RecvBackwardValue returns a backward value received by a call made with
// ctx (see WithBackwardValues).
func RecvBackwardValue(ctx context.Context, k string) (string, bool) {
	s := slot(ctx)
	if s == nil {
		return "", false
	}
	b := s.get(false)
	if b == nil {
		return "", false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return lookup(b.values, k)
}

// SendBackwardValue records a value for the server to send back to its
// caller with the reply. It reports false when k is empty or ctx carries
// no backward values (no [BackwardKey]). Every Skiff server call's
// context carries them, but only protocols with headers send them: TTHeader
// (in the reply header), gRPC (in the trailers; a key or value that is not
// a valid header field is dropped) and TTHeader streaming. Over Framed or
// Buffered Thrift, Kitex Protobuf without TTHeader, or in a oneway call
// (no reply), they are accepted and dropped.
func SendBackwardValue(ctx context.Context, k, v string) bool {
	s := slot(ctx)
	if s == nil || k == "" {
		return false
	}
	b := s.get(true)
	b.mu.Lock()
	b.values = set(b.values, k, v)
	b.mu.Unlock()
	return true
}

// AppendBackwardWire appends the backward values recorded in ctx as
// RPC_BACKWARD_ keys. Transports call it on the server when writing the
// reply.
func AppendBackwardWire(ctx context.Context, dst []codec.StrKV) []codec.StrKV {
	s := slot(ctx)
	if s == nil {
		return dst
	}
	b := s.get(false)
	if b == nil {
		return dst
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.values {
		dst = append(dst, codec.StrKV{Key: PrefixBackward + e.k, Value: e.v})
	}
	return dst
}
