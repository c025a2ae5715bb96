package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
)

// tlsEngine dials TLS connections: crypto/tls over the std engine (Netpoll
// has no TLS). Only its Dial is used by the client's pools.
type tlsEngine struct {
	engine.Engine // engine.Std
	cfg           *tls.Config
	names         *sync.Map // addr -> ServerName to verify (WithURL's host), when cfg has none
	alpn          []string  // NextProtos when cfg has none
}

func newTLSEngine(cfg *tls.Config, names *sync.Map, alpn ...string) tlsEngine {
	return tlsEngine{Engine: engine.Std, cfg: cfg, names: names, alpn: alpn}
}

// rememberTLSName records the host name of a WithURL call's URL for the
// address it resolved to, so that a TLS dial to that address verifies the
// server's certificate against the name, as an HTTPS client does, not
// against the IP address. An address reached under several names keeps
// the last one for its next connections.
func (c *Client) rememberTLSName(rawURL, addr string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return
	}
	host := u.Hostname()
	if host == "" || net.ParseIP(host) != nil {
		return
	}
	if old, ok := c.tlsNames.Load(addr); !ok || old.(string) != host {
		c.tlsNames.Store(addr, host)
	}
}

// Dial connects and completes the TLS handshake within timeout.
func (e tlsEngine) Dial(network, addr string, timeout time.Duration) (engine.Conn, error) {
	cfg := e.cfg
	if len(cfg.NextProtos) == 0 && len(e.alpn) > 0 {
		cfg = cfg.Clone()
		cfg.NextProtos = e.alpn
	}
	if cfg.ServerName == "" && network != "unix" {
		if name, ok := e.loadName(addr); ok {
			cfg = cfg.Clone()
			cfg.ServerName = name
		} else if host, _, err := net.SplitHostPort(addr); err == nil {
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

// loadName returns the ServerName recorded for addr, if any.
func (e tlsEngine) loadName(addr string) (string, bool) {
	if e.names == nil {
		return "", false
	}
	v, ok := e.names.Load(addr)
	if !ok {
		return "", false
	}
	return v.(string), true
}
