package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
)

// tlsEngine dials TLS connections: crypto/tls over the std engine (Netpoll
// has no TLS). Only its Dial is used by the client's pools.
type tlsEngine struct {
	engine.Engine // engine.Std
	cfg           *tls.Config
	alpn          []string // NextProtos when cfg has none
}

func newTLSEngine(cfg *tls.Config, alpn ...string) tlsEngine {
	return tlsEngine{Engine: engine.Std, cfg: cfg, alpn: alpn}
}

// Dial connects and completes the TLS handshake within timeout.
func (e tlsEngine) Dial(network, addr string, timeout time.Duration) (engine.Conn, error) {
	cfg := e.cfg
	if len(cfg.NextProtos) == 0 && len(e.alpn) > 0 {
		cfg = cfg.Clone()
		cfg.NextProtos = e.alpn
	}
	if cfg.ServerName == "" && network != "unix" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
	}
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	nc, err := (&tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, tlsDialError(addr, err)
	}
	return engine.NewStdConn(nc), nil
}

// tlsDialError says when a failed handshake looks like a plaintext server.
func tlsDialError(addr string, err error) error {
	var rh tls.RecordHeaderError
	var oe *net.OpError
	switch {
	case errors.As(err, &rh), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("TLS handshake with %s failed (does it serve TLS?): %w", addr, err)
	case errors.As(err, &oe) && oe.Op == "dial":
		return err // nothing answered: not a TLS matter
	}
	return fmt.Errorf("TLS handshake with %s: %w", addr, err)
}
