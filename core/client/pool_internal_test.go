package client

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/internal/toystream"
	"github.com/skiffrpc/skiff/core/stream"
)

// fakeProto's connections count their streams; they stay available while
// open, whatever the count (the stream SPI's contract).
type fakeProto struct {
	mu    sync.Mutex
	dials int
	conns []*fakeCC
}

func (p *fakeProto) Name() string       { return "fake" }
func (p *fakeProto) Detect([]byte) bool { return false }
func (p *fakeProto) NewServerConn(engine.Conn, stream.ServerConnParams) (stream.ServerConn, error) {
	return nil, nil
}
func (p *fakeProto) NewClientConn(c engine.Conn, _ stream.ClientConnParams) (stream.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dials++
	cc := &fakeCC{c: c, limit: 2}
	p.conns = append(p.conns, cc)
	return cc, nil
}

type fakeCC struct {
	c      engine.Conn
	mu     sync.Mutex
	open   int
	limit  int
	closed bool
}

func (f *fakeCC) NewStream(context.Context, stream.Header) (stream.RawClientStream, error) {
	f.mu.Lock()
	f.open++
	f.mu.Unlock()
	return nil, nil
}
func (f *fakeCC) done()           { f.mu.Lock(); f.open--; f.mu.Unlock() }
func (f *fakeCC) Available() bool { f.mu.Lock(); defer f.mu.Unlock(); return !f.closed }
func (f *fakeCC) Streams() int    { f.mu.Lock(); defer f.mu.Unlock(); return f.open }
func (f *fakeCC) Close() error    { f.mu.Lock(); f.closed = true; f.mu.Unlock(); return f.c.Close() }

// TestStreamPoolKeepsBusyConn: with one connection per host, a connection
// at its peer's stream limit is reused, never retired or doubled.
func TestStreamPoolKeepsBusyConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	fp := &fakeProto{}
	p := &streamPool{proto: fp, eng: engine.Default, timeout: time.Second, n: 1, hosts: map[string]*streamHost{}}
	defer p.close()
	addr := ln.Addr().String()
	// Three rounds of: 3 concurrent streams on a peer that allows 2, then all end.
	for round := 0; round < 3; round++ {
		var got []*fakeCC
		for i := 0; i < 3; i++ {
			cc, err := p.get(addr)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = cc.NewStream(context.Background(), nil)
			got = append(got, cc.(*fakeCC))
		}
		for _, cc := range got {
			cc.done()
		}
	}
	cc, _ := p.get(addr)
	_ = cc
	closed := 0
	for _, c := range fp.conns {
		if c.closed {
			closed++
		}
	}
	if fp.dials != 1 || closed != 0 {
		t.Errorf("WithStreamConnsPerHost(1): %d connections dialled, %d closed by the pool while healthy; want 1 and 0", fp.dials, closed)
	}
}

// TestTimeoutText: a call without an RPC timeout that ran out of its
// context's deadline says so, not "within 0s".
func TestTimeoutText(t *testing.T) {
	if got := timeoutText(0); got != "before the context's deadline" {
		t.Errorf("no RPC timeout: %q", got)
	}
	if got := timeoutText(150 * time.Millisecond); got != "within 150ms" {
		t.Errorf("RPC timeout: %q", got)
	}
}

// TestLongPoolForgetsRemovedInstances: instances removed by discovery
// leave nothing behind in the pool (churn of many addresses must not grow
// it), a busy connection returned afterwards is closed, not pooled, and
// the address, back, is pooled again.
func TestLongPoolForgetsRemovedInstances(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	addr := ln.Addr().String()
	p := newLongPool(engine.Std, PoolConfig{MaxIdleTimeout: time.Hour})
	defer p.close()
	busy, err := p.get("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	idle, err := p.get("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.put(idle)
	p.closeAddr(addr)
	if _, ok := p.lists()[addr]; ok {
		t.Error("the removed address keeps its idle list")
	}
	if idle.IsActive() {
		t.Error("an idle connection of a removed instance stays open")
	}
	p.put(busy) // its call ended after the instance left
	if busy.IsActive() {
		t.Error("a busy connection of a removed instance was pooled")
	}
	if n := len(p.lists()); n != 0 {
		t.Errorf("%d addresses remembered after the only one left", n)
	}
	// A call routed to the address as it left makes a list again; unused
	// for MaxIdleTimeout, evict removes it.
	late, err := p.get("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.discard(late)
	l := p.lists()[addr]
	if l == nil {
		t.Fatal("no list for a connection made after the removal")
	}
	p.evict(false)
	if p.lists()[addr] == nil {
		t.Fatal("evict removed a list in use moments ago")
	}
	l.mu.Lock()
	l.used = time.Now().Add(-2 * time.Hour)
	l.mu.Unlock()
	p.evict(false)
	if n := len(p.lists()); n != 0 {
		t.Errorf("%d lists left after evict; want the unused one removed", n)
	}
	// The instance is back: its connections are pooled again.
	again, err := p.get("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.put(again)
	if !again.IsActive() || p.idle.Load() != 1 {
		t.Errorf("a connection to the returned address was not pooled (open %v, idle %d)", again.IsActive(), p.idle.Load())
	}
}

// fakeCodec is a stream codec that names the protocols it is made for
// (none: it says nothing about protocols).
type fakeCodec struct {
	stream.Codec
	name   string
	protos []string
}

type matchingCodec struct{ fakeCodec }

func (c *matchingCodec) ForProtocol(p string) bool {
	for _, q := range c.protos {
		if p == q {
			return true
		}
	}
	return false
}

// TestDefaultStreamCodec: a client with a stream transport and no codec
// takes the codec made for that transport, whatever the registration
// order.
func TestDefaultStreamCodec(t *testing.T) {
	grpc := &matchingCodec{fakeCodec{name: "grpc", protos: []string{"http2"}}}
	tts := &matchingCodec{fakeCodec{name: "ttstream-thrift", protos: []string{"ttstream"}}}
	other := &fakeCodec{name: "other"}
	for _, cs := range [][]stream.Codec{{grpc, tts, other}, {tts, other, grpc}} {
		if got := defaultStreamCodec(cs, "ttstream"); got != stream.Codec(tts) {
			t.Errorf("ttstream: got %v", got)
		}
		if got := defaultStreamCodec(cs, "http2"); got != stream.Codec(grpc) {
			t.Errorf("http2: got %v", got)
		}
		if got := defaultStreamCodec(cs, "quic"); got != stream.Codec(other) {
			t.Errorf("an unclaimed protocol: got %v, want the codec that says nothing", got)
		}
	}
	if got := defaultStreamCodec([]stream.Codec{grpc}, "quic"); got != stream.Codec(grpc) {
		t.Errorf("only one codec: got %v", got)
	}
}

// TestStreamPoolEngine: stream transports (HTTP/2) dial on the client's
// engine, engine.Default unless WithEngine says otherwise, as framed ones
// do: no per-protocol default.
func TestStreamPoolEngine(t *testing.T) {
	for _, c := range []struct {
		opts []Option
		want engine.Engine
	}{
		{nil, engine.Default},
		{[]Option{WithEngine(engine.Std)}, engine.Std},
	} {
		opts := append([]Option{WithStreamTransport(toystream.Protocol), WithStreamCodec(toystream.Codec), WithHostPorts("127.0.0.1:1")}, c.opts...)
		cli, err := New(toycodec.Service(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case cli.spool == nil:
			t.Error("no stream pool with WithStreamTransport")
		case cli.spool.eng != c.want:
			t.Errorf("stream connections dial on %v, want %s", cli.spool.eng, c.want.Name())
		}
		_ = cli.Close()
	}
}
