package client

import (
	"fmt"
	"sort"

	"github.com/skiffrpc/skiff/core/diag"
)

// WithDiagnosis registers the client with r as the probe
// "client/<service>" (a suffix tells clients of one service apart) until
// Close: its options, its connections per address, the instances
// discovery last delivered and its balancer. Discovery changes are
// recorded as events from "client/<service>". Default: no registry.
func WithDiagnosis(r *diag.Registry) Option { return optionFunc(func(o *options) { o.diag = r }) }

// registerDiag registers the client's probe, if it has a registry.
func (c *Client) registerDiag() {
	if c.opts.diag != nil {
		c.diagStop, _ = c.opts.diag.Register("client/"+c.svc.Name, c.diagState)
	}
}

// clientState is what a client's probe reports.
type clientState struct {
	Service        string          `json:"service"`
	Transport      string          `json:"transport"`
	Codec          string          `json:"codec"`
	RPCTimeout     string          `json:"rpc_timeout"`
	ConnectTimeout string          `json:"connect_timeout"`
	StatsLevel     int             `json:"stats_level"`
	Middlewares    int             `json:"middlewares"`
	InstanceMWs    int             `json:"instance_middlewares"`
	Tracers        int             `json:"tracers"`
	Balancer       string          `json:"balancer"`
	Resolver       string          `json:"resolver,omitempty"`
	Instances      []instanceState `json:"instances"`
	Pool           poolState       `json:"pool"`
	Closed         bool            `json:"closed"`
}

type instanceState struct {
	Address string `json:"address"`
	Weight  int    `json:"weight"`
}

// poolState describes the connections: the pool's kind and, per address,
// the connections it holds.
type poolState struct {
	Kind   string                 `json:"kind"` // "long", "short", "mux" or "stream"
	Config *PoolConfig            `json:"config,omitempty"`
	Addrs  map[string]addrConnsSt `json:"addresses"`
}

type addrConnsSt struct {
	Idle    int `json:"idle,omitempty"`    // long pool: idle connections
	Conns   int `json:"conns,omitempty"`   // mux and stream pools, and long pools' multiplexed addresses: open connections
	Pending int `json:"pending,omitempty"` // mux: calls waiting for their reply; stream: open streams
}

func (c *Client) diagState() any {
	s := clientState{
		Service: c.svc.Name, Transport: c.tname, Codec: c.cname,
		RPCTimeout: c.opts.rpcTimeout.String(), ConnectTimeout: c.opts.connectTimeout.String(),
		StatsLevel: int(c.level), Middlewares: len(c.opts.middlewares), InstanceMWs: len(c.opts.instanceMWs),
		Tracers: len(c.opts.tracers), Balancer: fmt.Sprintf("%T", c.opts.balancer), Closed: c.closed.Load(),
		Instances: []instanceState{},
	}
	if c.opts.resolver != nil {
		s.Resolver = fmt.Sprintf("%T", c.opts.resolver)
	}
	if c.sub != nil {
		t := c.sub.t
		t.mu.Lock()
		res := t.res
		t.mu.Unlock()
		for _, in := range res.Instances {
			s.Instances = append(s.Instances, instanceState{Address: in.Address(), Weight: in.Weight()})
		}
		sort.Slice(s.Instances, func(i, j int) bool { return s.Instances[i].Address < s.Instances[j].Address })
	}
	s.Pool.Addrs = map[string]addrConnsSt{}
	switch {
	case c.spool != nil:
		s.Pool.Kind = "stream"
		c.spool.mu.Lock()
		hosts := make(map[string]*streamHost, len(c.spool.hosts))
		for a, h := range c.spool.hosts {
			hosts[a] = h
		}
		c.spool.mu.Unlock()
		for a, h := range hosts {
			h.mu.Lock()
			st := addrConnsSt{Conns: len(h.conns)}
			for _, cc := range h.conns {
				st.Pending += cc.Streams()
			}
			h.mu.Unlock()
			s.Pool.Addrs[a] = st
		}
	case c.mux != nil:
		s.Pool.Kind = "mux"
		c.mux.state(s.Pool.Addrs)
	default:
		switch p := c.pool.(type) {
		case *longPool:
			s.Pool.Kind = "long"
			cfg := p.cfg
			s.Pool.Config = &cfg
			for addr, l := range p.lists() {
				l.mu.Lock()
				n := len(l.conns)
				l.mu.Unlock()
				s.Pool.Addrs[addr] = addrConnsSt{Idle: n}
			}
			if c.auto != nil {
				// Addresses upgraded to multiplexing: their connections.
				c.auto.state(s.Pool.Addrs)
			}
		default:
			s.Pool.Kind = "short"
		}
	}
	return s
}

// state adds the open connections and the calls waiting on them, per
// address, to addrs.
func (p *muxPool) state(addrs map[string]addrConnsSt) {
	p.mu.Lock()
	slots := make(map[string]*muxSlots, len(p.addrs))
	for a, ms := range p.addrs {
		slots[a] = ms
	}
	p.mu.Unlock()
	for a, ms := range slots {
		st := addrs[a]
		for i := range ms.slots {
			sl := &ms.slots[i]
			sl.mu.Lock() // held while the slot dials: at most the connect timeout
			if mc := sl.mc; mc != nil && mc.alive() {
				st.Conns++
				mc.mu.Lock()
				st.Pending += len(mc.pending)
				mc.mu.Unlock()
			}
			sl.mu.Unlock()
		}
		addrs[a] = st
	}
}
