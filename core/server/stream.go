package server

import (
	"context"
	"errors"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

func (s *Server) streamProtocols() []stream.Protocol {
	if s.opts.streamProtos != nil {
		return s.opts.streamProtos
	}
	return stream.Protocols()
}

func (s *Server) streamCodecs() []stream.Codec {
	if s.opts.streamCodecs == nil {
		// Taken once: the registry is filled from init functions.
		s.scodecsOnce.Do(func() { s.scodecs = stream.Codecs() })
		return s.scodecs
	}
	return s.opts.streamCodecs
}

// serveStreams hands a connection to its stream protocol and serves it
// until it ends. It runs on the engine's goroutine for the connection.
func (s *Server) serveStreams(st *connState, c engine.Conn) error {
	_ = c.SetReadTimeout(0) // a stream connection waits for frames between calls
	d := &dispatcher{s: s, remote: st.remote, transport: st.sproto.Name()}
	if s.unknownMethod() != nil {
		// Stream codecs that carry raw payloads serve unknown methods;
		// the others get a dispatcher without the fallback.
		d.rawless = &dispatcher{s: s, remote: st.remote, transport: st.sproto.Name()}
		d.unknown = true
	}
	sc, err := st.sproto.NewServerConn(c, stream.ServerConnParams{
		Handler: func(rs stream.RawServerStream) { s.serveStream(d, rs) },
		Logger:  s.log,
	})
	if err != nil {
		return err
	}
	s.smu.Lock()
	closing := s.sclosing
	if !closing {
		s.sconns[sc] = struct{}{}
	}
	s.smu.Unlock()
	if closing {
		// Stopping: refuse work politely (GOAWAY) and end the connection.
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.exitWait)
		go func() { defer cancel(); _ = sc.Shutdown(ctx) }()
	}
	err = sc.Serve()
	s.smu.Lock()
	delete(s.sconns, sc)
	s.smu.Unlock()
	if err == nil {
		err = net.ErrClosed // the engine closes its side too
	}
	return err
}

// serveStream finds the stream codec for one stream and lets it serve. A
// panic outside the handler (a faulty codec) resets that stream only.
func (s *Server) serveStream(d *dispatcher, rs stream.RawServerStream) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("skiff: panic while serving a stream", "remote", d.remote, "panic", p, "stack", string(debug.Stack()))
			rs.Reset(stream.CodeInternal)
		}
	}()
	h := rs.Header()
	for _, c := range s.streamCodecs() {
		if c.Detect(h) {
			if d.unknown && !codec.CarriesRaw(c) {
				d = d.rawless
			}
			c.ServeStream(rs, d)
			return
		}
	}
	s.log.Warn("skiff: no stream codec for request", "remote", d.remote, "content-type", h.Get("content-type"), "path", h.Get(":path"))
	rs.Reset(stream.CodeRefused)
}

// shutdownStreams asks every stream connection to go away and waits until
// their open streams end or ctx is done; then the streams still open are
// ended with ErrServerStopping (see stream.ServerConn). It reports whether
// any was.
func (s *Server) shutdownStreams(ctx context.Context) (forced bool) {
	s.smu.Lock()
	s.sclosing = true
	conns := make([]stream.ServerConn, 0, len(s.sconns))
	for sc := range s.sconns {
		conns = append(conns, sc)
	}
	s.smu.Unlock()
	var wg sync.WaitGroup
	var cut atomic.Bool
	for _, sc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := sc.Shutdown(ctx)
			switch {
			case err == nil, errors.Is(err, net.ErrClosed):
			case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
				cut.Store(true)
			default:
				s.log.Debug("skiff: stream connection shutdown", "err", err)
			}
		}()
	}
	wg.Wait()
	return cut.Load()
}

// dispatcher is the server as stream codecs see it, for one connection.
type dispatcher struct {
	s         *Server
	remote    net.Addr
	transport string

	unknown bool        // Lookup falls back to the unknown-method handler
	rawless *dispatcher // the same without the fallback, for codecs without codec.Raw
}

var _ stream.Dispatcher = (*dispatcher)(nil)

// Lookup implements stream.Dispatcher.
func (d *dispatcher) Lookup(svc, name string) (*stream.Method, error) {
	s := d.s
	ms, ok := s.byFull[svc]
	if !ok {
		ms, ok = s.byName[svc]
	}
	if !ok {
		if d.unknown {
			return unknownStreamMethod(svc, name), nil
		}
		return nil, status.New(status.Unimplemented, "unknown service "+svc)
	}
	m, ok := ms[name]
	if !ok {
		if d.unknown {
			return unknownStreamMethod(svc, name), nil
		}
		return nil, status.New(status.Unimplemented, "unknown method "+name+" for service "+svc)
	}
	return &m.sm, nil
}

// Start implements stream.Dispatcher.
func (d *dispatcher) Start(ctx context.Context, sm *stream.Method) context.Context {
	return d.StartPrepared(ctx, sm, nil)
}

// StartPrepared implements stream.StartPreparer.
func (d *dispatcher) StartPrepared(ctx context.Context, sm *stream.Method, p stream.CallPreparer) context.Context {
	s := d.s
	m := s.byStream[sm] // keyed by registration, even when services share MethodInfo values
	ci := callinfo.New(ctx)
	ci.Service, ci.Method, ci.RemoteAddr, ci.Transport = sm.Service.Name, sm.Info.Name, d.remote, d.transport
	if m != nil {
		ci.Service = m.svc
	}
	ci.Stats.Reset(s.level)
	if p != nil {
		p.PrepareCall(ci)
	}
	return s.startCall(ci, ci)
}

// Invoke implements stream.Dispatcher.
func (d *dispatcher) Invoke(ctx context.Context, sm *stream.Method, args, result any) error {
	s := d.s
	m := s.byStream[sm]
	if m == nil && isUnknownStream(sm) {
		m = s.unknownMethod() // served by WithUnknownMethodHandler
	}
	if m == nil {
		return status.New(status.Unimplemented, "unknown method "+sm.Info.Name)
	}
	ci := callinfo.From(ctx)
	if ci == nil || ci.Method != sm.Info.Name {
		// A codec that did not call Start: the call is started and
		// finished here.
		ctx = d.Start(ctx, sm)
		ci = callinfo.From(ctx)
		defer func() { s.finishCall(ci, ctx, nil) }()
	}
	if ss, ok := args.(stream.ServerStream); ok {
		// The handler sees the call info through its stream's context too.
		args = &callStream{ServerStream: ss, ctx: ctx}
	}
	return s.handle(ci, ctx, m, args, result)
}

// Finish implements stream.Dispatcher.
func (d *dispatcher) Finish(ctx context.Context, err error) {
	if ci := callinfo.From(ctx); ci != nil {
		d.s.finishCall(ci, ctx, err)
	}
}

// callStream is a handler's stream whose context carries the call info.
type callStream struct {
	stream.ServerStream
	ctx context.Context
}

// Context returns the call's context, with its call info.
func (s *callStream) Context() context.Context { return s.ctx }
