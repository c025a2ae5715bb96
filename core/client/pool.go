package client

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
)

// pconn is a pooled connection.
type pconn struct {
	engine.Conn
	addr     string
	list     *idleList // a longPool's list for addr when the connection was made (nil in a shortPool)
	idleFrom time.Time
	reused   bool // taken from the idle list, not dialled for this call
}

// probeIdle is how long a pooled connection sits idle before the pool asks
// the engine, with one non-blocking syscall, whether the server closed it.
// Busier connections skip the probe: their engine's poller has seen any
// close by then, or the server closed it in the instant of reuse (a race
// transparent retry covers when the write fails).
const probeIdle = time.Millisecond

// connPool hands out connections for ping-pong calls: one call at a time
// per connection. A multiplexing transport would hold its connections
// itself and bypass it.
type connPool interface {
	get(network, addr string, timeout time.Duration) (*pconn, error)
	// dial returns a new connection, never an idle one.
	dial(network, addr string, timeout time.Duration) (*pconn, error)
	// put returns a healthy connection after a complete call.
	put(c *pconn)
	// discard closes a connection that must not be reused.
	discard(c *pconn)
	// closeAddr closes the idle connections to addr, an instance that
	// left, and those in use when they come back.
	closeAddr(addr string)
	close()
}

type shortPool struct{ eng engine.Engine }

func (p shortPool) get(network, addr string, timeout time.Duration) (*pconn, error) {
	return p.dial(network, addr, timeout)
}

func (p shortPool) dial(network, addr string, timeout time.Duration) (*pconn, error) {
	c, err := p.eng.Dial(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	return &pconn{Conn: c, addr: addr}, nil
}

func (shortPool) put(c *pconn)     { _ = c.Close() }
func (shortPool) discard(c *pconn) { _ = c.Close() }
func (shortPool) close()           {}
func (shortPool) closeAddr(string) {}

// longPool keeps idle connections per address, most recently used first,
// bounded per address and globally, and closes those idle too long.
type longPool struct {
	eng    engine.Engine
	cfg    PoolConfig
	addrs  atomic.Pointer[map[string]*idleList] // copied on write: read by every call, written when an address is first used or leaves
	amu    sync.Mutex                           // serializes writers of addrs
	idle   atomic.Int64
	closed atomic.Bool
	stop   chan struct{}
	done   chan struct{}
}

// idleList holds the idle connections to one address. Each connection
// keeps the list it was made under (pconn.list): when the address leaves
// (closeAddr), the list is dead and the connections busy with calls then
// close when returned, while the address, should it come back, gets a new
// list.
type idleList struct {
	mu    sync.Mutex
	conns []*pconn  // stack: the last is the most recently used
	dead  bool      // closeAddr or evict removed the list: put must not add to it
	used  time.Time // made, or a connection last returned to it
}

func newLongPool(eng engine.Engine, cfg PoolConfig) *longPool {
	if cfg.MaxIdlePerAddress <= 0 {
		cfg.MaxIdlePerAddress = DefaultPoolConfig.MaxIdlePerAddress
	}
	if cfg.MaxIdleGlobal <= 0 {
		cfg.MaxIdleGlobal = DefaultPoolConfig.MaxIdleGlobal
	}
	if cfg.MaxIdleGlobal < cfg.MaxIdlePerAddress {
		cfg.MaxIdleGlobal = cfg.MaxIdlePerAddress
	}
	if cfg.MaxIdleTimeout <= 0 {
		cfg.MaxIdleTimeout = DefaultPoolConfig.MaxIdleTimeout
	}
	p := &longPool{eng: eng, cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	go p.evictLoop()
	return p
}

func (p *longPool) list(addr string) *idleList {
	if m := p.addrs.Load(); m != nil {
		if l := (*m)[addr]; l != nil {
			return l
		}
	}
	p.amu.Lock()
	defer p.amu.Unlock()
	old := p.lists()
	if l := old[addr]; l != nil {
		return l
	}
	m := make(map[string]*idleList, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	l := &idleList{used: time.Now()}
	m[addr] = l
	p.addrs.Store(&m)
	return l
}

// lists returns the current idle lists by address; the map must not be
// changed.
func (p *longPool) lists() map[string]*idleList {
	if m := p.addrs.Load(); m != nil {
		return *m
	}
	return nil
}

func (p *longPool) get(network, addr string, timeout time.Duration) (*pconn, error) {
	l := p.list(addr)
	for {
		l.mu.Lock()
		n := len(l.conns)
		if n == 0 {
			l.mu.Unlock()
			break
		}
		c := l.conns[n-1]
		l.conns[n-1] = nil
		l.conns = l.conns[:n-1]
		l.mu.Unlock()
		p.idle.Add(-1)
		if idle := time.Since(c.idleFrom); c.IsActive() && idle < p.cfg.MaxIdleTimeout &&
			(idle < probeIdle || !engine.PeerClosed(c.Conn)) {
			c.reused = true
			return c, nil
		}
		_ = c.Close()
	}
	return p.dialTo(l, network, addr, timeout)
}

func (p *longPool) closeAddr(addr string) {
	if l := p.lists()[addr]; l != nil {
		p.dropList(addr, l, false)
	}
}

// dropList removes l, addr's list, from the pool and closes its idle
// connections; connections busy with calls close when they return. With
// onlyStale, l goes only while it is empty and unused for MaxIdleTimeout.
func (p *longPool) dropList(addr string, l *idleList, onlyStale bool) {
	p.amu.Lock()
	l.mu.Lock()
	if l.dead || onlyStale && (len(l.conns) > 0 || time.Since(l.used) < p.cfg.MaxIdleTimeout) {
		l.mu.Unlock()
		p.amu.Unlock()
		return
	}
	conns := l.conns
	l.conns, l.dead = nil, true
	l.mu.Unlock()
	old := p.lists()
	m := make(map[string]*idleList, len(old))
	for k, v := range old {
		if v != l {
			m[k] = v
		}
	}
	p.addrs.Store(&m)
	p.amu.Unlock()
	for _, c := range conns {
		p.idle.Add(-1)
		_ = c.Close()
	}
}

func (p *longPool) dial(network, addr string, timeout time.Duration) (*pconn, error) {
	return p.dialTo(p.list(addr), network, addr, timeout)
}

// dialTo dials addr for a connection that returns to l.
func (p *longPool) dialTo(l *idleList, network, addr string, timeout time.Duration) (*pconn, error) {
	c, err := p.eng.Dial(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	return &pconn{Conn: c, addr: addr, list: l}, nil
}

func (p *longPool) put(c *pconn) {
	if p.closed.Load() || !c.IsActive() {
		_ = c.Close()
		return
	}
	if p.idle.Add(1) > int64(p.cfg.MaxIdleGlobal) {
		p.idle.Add(-1)
		_ = c.Close()
		return
	}
	c.idleFrom = time.Now()
	l := c.list
	l.mu.Lock()
	if l.dead || len(l.conns) >= p.cfg.MaxIdlePerAddress {
		l.mu.Unlock()
		p.idle.Add(-1)
		_ = c.Close()
		return
	}
	l.conns = append(l.conns, c)
	l.used = c.idleFrom
	l.mu.Unlock()
	if p.closed.Load() {
		p.evict(true) // close ran meanwhile: it may have missed c
	}
}

func (p *longPool) discard(c *pconn) { _ = c.Close() }

func (p *longPool) evictLoop() {
	defer close(p.done)
	interval := p.cfg.MaxIdleTimeout / 2
	if interval < 10*time.Millisecond {
		interval = 10 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.evict(false)
		}
	}
}

// evict closes expired connections, or all of them, and removes the
// lists of addresses unused for MaxIdleTimeout (a call made to an address
// just as it left discovery made it a new one).
func (p *longPool) evict(all bool) {
	for addr, l := range p.lists() {
		l.mu.Lock()
		kept := l.conns[:0]
		for _, c := range l.conns {
			if all || !c.IsActive() || time.Since(c.idleFrom) >= p.cfg.MaxIdleTimeout {
				_ = c.Close()
				p.idle.Add(-1)
				continue
			}
			kept = append(kept, c)
		}
		clear(l.conns[len(kept):])
		l.conns = kept
		stale := len(kept) == 0 && time.Since(l.used) >= p.cfg.MaxIdleTimeout
		l.mu.Unlock()
		if stale && !all {
			p.dropList(addr, l, true)
		}
	}
}

func (p *longPool) close() {
	if p.closed.Swap(true) {
		return
	}
	close(p.stop)
	<-p.done
	p.evict(true)
}
