package callinfo

import (
	"context"
	"testing"
	"unsafe"

	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/metainfo"
)

// A client call allocates its Info and first attempt as one callRecord;
// keeping it within the 640-byte size class keeps the per-call allocation
// what the benchmark budget was measured with.
func TestCallRecordSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(callRecord{}); n > 640 {
		t.Fatalf("callRecord is %d bytes; above 640 it moves to the next allocation size class", n)
	}
}

// A server call's Info and its backward values are one allocation in the
// 416-byte size class, as the Info alone was.
func TestServerRecordSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(serverRecord{}); n > 416 {
		t.Fatalf("serverRecord is %d bytes; above 416 it moves to the next allocation size class", n)
	}
}

// A server call's Info holds its backward values: a handler's derived
// context sends them, the transport finds them, and readying the context
// costs nothing. A client call's Info holds none: backward values its
// reply brings go to the caller's collector.
func TestServerInfoHoldsBackwardValues(t *testing.T) {
	srv := New(context.Background())
	if got := metainfo.ServerBackwardValues(srv); got != context.Context(srv) {
		t.Fatalf("ServerBackwardValues wrapped a server Info: %v", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = metainfo.ServerBackwardValues(New(context.Background())) }); n != 1 {
		t.Errorf("a server Info readied for backward values: %v allocations, want 1 (the Info)", n)
	}
	hctx := metainfo.WithValue(srv, "k", "v") // a context the handler derived
	if !metainfo.SendBackwardValue(hctx, "b", "1") {
		t.Fatal("SendBackwardValue refused a server call's context")
	}
	if w := metainfo.AppendBackwardWire(srv, nil); len(w) != 1 || w[0].Key != metainfo.PrefixBackward+"b" || w[0].Value != "1" {
		t.Errorf("the server Info's backward values: %v", w)
	}
	if w := metainfo.AppendBackwardWire(New(context.Background()), nil); len(w) != 0 {
		t.Errorf("a fresh server Info has backward values: %v", w)
	}

	// A plain context gets a collector of its own.
	plain := metainfo.ServerBackwardValues(context.Background())
	if !metainfo.SendBackwardValue(plain, "p", "2") {
		t.Fatal("ServerBackwardValues gave a plain context no collector")
	}

	// A collector made before the Info (by a stream codec that writes its
	// reply with its own context, or by an in-process Invoker's caller)
	// keeps the values the handler sends.
	pre := metainfo.WithBackwardValues(context.Background())
	if !metainfo.SendBackwardValue(New(pre), "q", "4") {
		t.Fatal("SendBackwardValue refused a server Info under a collector")
	}
	if v, ok := metainfo.RecvBackwardValue(pre, "q"); !ok || v != "4" {
		t.Errorf("the collector made before the Info got %q %v", v, ok)
	}

	// Calls whose parent other calls share (NewOwnBackward) never share a
	// collector, with each other or with the parent.
	shared := metainfo.WithBackwardValues(context.Background())
	a, b := NewOwnBackward(shared), NewOwnBackward(shared)
	metainfo.SendBackwardValue(a, "a", "1")
	metainfo.SendBackwardValue(b, "b", "2")
	if w := metainfo.AppendBackwardWire(a, nil); len(w) != 1 || w[0].Value != "1" {
		t.Errorf("call a's backward values: %v", w)
	}
	if w := metainfo.AppendBackwardWire(b, nil); len(w) != 1 || w[0].Value != "2" {
		t.Errorf("call b's backward values: %v", w)
	}
	if _, ok := metainfo.RecvBackwardValue(shared, "a"); ok {
		t.Error("a NewOwnBackward call's value reached its parent's collector")
	}

	// A client call made with a handler's context: its reply's backward
	// values go to the serving call's collector (and so on upstream), not
	// to the client call's Info.
	handler := New(context.Background())
	cli := NewCall(metainfo.WithValue(handler, "k", "v"))
	metainfo.SetBackwardValuesFromWire(cli, []codec.StrKV{{Key: metainfo.PrefixBackward + "c", Value: "3"}})
	if v, ok := metainfo.RecvBackwardValue(handler, "c"); !ok || v != "3" {
		t.Errorf("the handler's collector got %q %v", v, ok)
	}
	// A client call under a caller's WithBackwardValues: to that collector.
	caller := metainfo.WithBackwardValues(context.Background())
	metainfo.SetBackwardValuesFromWire(NewCall(caller), []codec.StrKV{{Key: metainfo.PrefixBackward + "d", Value: "5"}})
	if v, ok := metainfo.RecvBackwardValue(caller, "d"); !ok || v != "5" {
		t.Errorf("the caller's collector got %q %v", v, ok)
	}
}

func TestNewInfoAttemptsCarryInContext(t *testing.T) {
	i := New(context.Background())
	ctx, a := i.StartAttempt(i)
	if a == nil || a.N != 1 || AttemptFrom(ctx) != a {
		t.Fatalf("first attempt of an Info from New: got %v, AttemptFrom %v", a, AttemptFrom(ctx))
	}
	c := NewCall(context.Background())
	ctx, a = c.StartAttempt(c)
	if ctx != context.Context(c) || AttemptFrom(c) != a || a.Call() != c {
		t.Fatal("first attempt of an Info from NewCall is not the preallocated one")
	}
}
