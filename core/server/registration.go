package server

import (
	"net"

	"github.com/skiffrpc/skiff/core/registry"
)

// registration is the server's record of its registry registration.
type registration struct {
	r    registry.Registry
	info *registry.Info
	done chan struct{} // closed when Register has returned
	err  error         // Register's error; read after done is closed
}

// registryInfo returns the Info to register for a server listening at ln:
// a copy of the WithRegistry Info with its empty fields filled in.
// Services becomes [ServiceName] when only that is set, or every
// registered service's name (each once, in registration order) when
// neither is; ServiceName becomes Services[0]; Addr becomes the advertised
// address. Weight and Tags are kept as they are (Tags shared, never
// modified). Called with s.mu held.
func (s *Server) registryInfo(ln net.Addr) *registry.Info {
	var info registry.Info
	if s.opts.registryInfo != nil {
		info = *s.opts.registryInfo
	}
	switch {
	case len(info.Services) > 0:
		info.Services = append([]string(nil), info.Services...)
	case info.ServiceName != "":
		info.Services = []string{info.ServiceName}
	default:
		seen := make(map[string]bool, len(s.services))
		for _, svc := range s.services {
			if !seen[svc.Name] {
				seen[svc.Name] = true
				info.Services = append(info.Services, svc.Name)
			}
		}
	}
	if info.ServiceName == "" && len(info.Services) > 0 {
		info.ServiceName = info.Services[0]
	}
	if info.Addr == nil {
		info.Addr = advertiseAddr(s.opts.advertiseAddr, ln, localIPv4)
	}
	return &info
}

// register calls the registry's Register; a failure is logged and kept for
// RegisterErr, and the server keeps serving.
func (s *Server) register(reg *registration) {
	defer close(reg.done)
	if reg.err = reg.r.Register(reg.info); reg.err != nil {
		s.log.Error("skiff: registry register failed; serving unregistered",
			"services", reg.info.Services, "addr", reg.info.Addr, "err", reg.err)
	}
}

// deregister waits for Start's Register to return, then calls the
// registry's Deregister; a failure is logged.
func (s *Server) deregister(reg *registration) {
	<-reg.done
	if err := reg.r.Deregister(reg.info); err != nil {
		s.log.Error("skiff: registry deregister failed",
			"services", reg.info.Services, "addr", reg.info.Addr, "err", err)
	}
}

// RegisterErr returns the error the registry's Register returned when
// Start registered the server (see WithRegistry). It is nil when Register
// succeeded, when no registry is configured, before Start and while Start
// is still registering. Start logs the same error; it does not fail
// because of it.
func (s *Server) RegisterErr() error {
	s.mu.Lock()
	reg := s.reg
	s.mu.Unlock()
	if reg == nil {
		return nil
	}
	select {
	case <-reg.done:
		return reg.err
	default:
		return nil
	}
}
