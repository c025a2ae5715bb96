package server

import (
	"fmt"
	"sort"

	"github.com/skiffrpc/skiff/core/diag"
	"github.com/skiffrpc/skiff/core/gcfloor"
)

// WithDiagnosis registers the server with r as the probe "server/<addr>"
// from Start to Stop: its options, its services and their methods, and its
// open connections. Start and Stop are recorded as events. Default: no
// registry.
func WithDiagnosis(r *diag.Registry) Option { return optionFunc(func(o *options) { o.diag = r }) }

// serverState is what a server's probe reports.
type serverState struct {
	Address         string              `json:"address"`
	Transports      []string            `json:"transports"`
	StreamProtocols []string            `json:"stream_protocols"`
	ReadTimeout     string              `json:"read_timeout"`
	IdleTimeout     string              `json:"idle_timeout"`
	ExitWaitTime    string              `json:"exit_wait_time"`
	MaxFrameSize    int                 `json:"max_frame_size"`
	StatsLevel      int                 `json:"stats_level"`
	Middlewares     int                 `json:"middlewares"`
	Tracers         int                 `json:"tracers"`
	Engine          string              `json:"engine"`
	Services        map[string][]string `json:"services"` // service name -> methods
	UnknownMethods  bool                `json:"unknown_method_handler"`
	Connections     int64               `json:"connections"`
	MaxConnections  int                 `json:"max_connections"`     // WithMaxConns; <= 0: no bound
	RefusedConns    int64               `json:"refused_connections"` // closed at the bound so far
	StreamConns     int                 `json:"stream_connections"`
	Draining        bool                `json:"draining"`
	HeapFloor       int                 `json:"heap_floor"` // the process's gcfloor.Size, bytes
	// ExpiredCalls counts the calls dropped because the caller's deadline
	// passed before they started (they waited to be read or to run).
	ExpiredCalls int64 `json:"expired_calls"`
}

// registerDiag registers the server's probe once it listens on addr.
func (s *Server) registerDiag(addr string) {
	if s.opts.diag == nil {
		return
	}
	s.diagStop, s.diagName = s.opts.diag.Register("server/"+addr, s.diagState)
	s.opts.diag.Record(s.diagName, "started")
}

// unregisterDiag removes the server's probe.
func (s *Server) unregisterDiag(err error) {
	if s.diagStop == nil {
		return
	}
	s.diagStop()
	if err != nil {
		s.opts.diag.Record(s.diagName, "stopped", "error", err.Error())
	} else {
		s.opts.diag.Record(s.diagName, "stopped")
	}
}

func (s *Server) diagState() any {
	st := serverState{
		ReadTimeout: s.opts.readTimeout.String(), IdleTimeout: s.opts.idleTimeout.String(),
		ExitWaitTime: s.opts.exitWait.String(), MaxFrameSize: s.opts.maxFrame, StatsLevel: int(s.level),
		Middlewares: len(s.opts.middlewares), Tracers: len(s.opts.tracers), Engine: fmt.Sprintf("%T", s.opts.engine),
		Services: map[string][]string{}, UnknownMethods: s.unknownMethod() != nil,
		Connections: s.conns.Load(), Draining: s.draining.Load(), ExpiredCalls: s.expired.Load(),
		MaxConnections: s.opts.maxConns, RefusedConns: s.limit.refused.Load(),
		Transports: []string{}, StreamProtocols: []string{}, HeapFloor: gcfloor.Size(),
	}
	for _, p := range s.opts.transports {
		st.Transports = append(st.Transports, p.Name())
	}
	for _, p := range s.opts.streamProtos {
		st.StreamProtocols = append(st.StreamProtocols, p.Name())
	}
	s.mu.Lock()
	if s.ln != nil {
		st.Address = s.ln.Addr().String()
	}
	for name, ms := range s.byName {
		methods := make([]string, 0, len(ms))
		for m := range ms {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		st.Services[name] = methods
	}
	s.mu.Unlock()
	s.smu.Lock()
	st.StreamConns = len(s.sconns)
	s.smu.Unlock()
	return st
}
