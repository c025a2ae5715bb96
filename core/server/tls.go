package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// WithTLSConfig serves TLS on every transport of the server (Thrift,
// TTHeader, Kitex Protobuf and HTTP/2 alike), and mTLS when cfg asks for
// client certificates (cfg.ClientAuth). TLS runs on the std engine, as
// Netpoll has none: the server uses engine.Std, and Start fails when
// WithEngine asks for another engine. NextProtos defaults to "h2", so gRPC
// clients negotiate HTTP/2. A plaintext client is refused (its connection
// is closed and the server logs why) unless WithTLSOptional is also given.
// cfg is cloned; a nil cfg turns TLS off.
func WithTLSConfig(cfg *tls.Config) Option {
	return optionFunc(func(o *options) {
		if cfg != nil {
			cfg = cfg.Clone()
			if len(cfg.NextProtos) == 0 {
				cfg.NextProtos = []string{"h2"}
			}
		}
		o.tls = cfg
	})
}

// WithTLSOptional makes a WithTLSConfig server also serve plaintext
// clients on the same port: a connection whose first byte starts a TLS
// handshake gets TLS, any other is served in the clear. Useful while
// clients move to TLS.
func WithTLSOptional() Option { return optionFunc(func(o *options) { o.tlsOptional = true }) }

// tlsHandshakeTimeout bounds a TLS handshake once its first byte came.
const tlsHandshakeTimeout = 10 * time.Second

// errPlaintext ends a plaintext connection to a TLS-only server.
var errPlaintext = errors.New("server: plaintext connection on a TLS port (the client did not start a TLS handshake)")

// tlsListener accepts connections whose TLS handshake (or plaintext
// service, when optional) is decided by their first byte, on the
// connection's own goroutine (the first Read), never in Accept.
type tlsListener struct {
	net.Listener
	cfg      *tls.Config
	optional bool
	log      *slog.Logger
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, l: l}, nil
}

// sniffConn is an accepted connection that becomes TLS or plaintext on
// its first Read.
type sniffConn struct {
	net.Conn // the accepted connection
	l        *tlsListener
	once     sync.Once
	c        net.Conn // what reads and writes go to once decided
	tc       *tls.Conn
	err      error
}

func (s *sniffConn) decide() error {
	s.once.Do(func() {
		var b [1]byte
		n, err := s.Conn.Read(b[:]) // under the engine's read deadline
		if n == 0 {
			if err == nil {
				err = errors.New("server: empty read")
			}
			s.err = err
			return
		}
		pc := &prefixConn{Conn: s.Conn, pre: b[0], has: true}
		switch {
		case b[0] == 0x16: // a TLS handshake record
			s.tc = tls.Server(pc, s.l.cfg)
			ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
			defer cancel()
			if err := s.tc.HandshakeContext(ctx); err != nil {
				s.l.log.Warn("skiff: TLS handshake failed", "remote", s.Conn.RemoteAddr(), "err", err)
				s.err = fmt.Errorf("server: TLS handshake: %w", err)
				return
			}
			s.c = s.tc
		case s.l.optional:
			s.c = pc
		default:
			s.l.log.Warn("skiff: plaintext connection refused on a TLS port", "remote", s.Conn.RemoteAddr(), "first byte", fmt.Sprintf("%#x", b[0]))
			s.err = errPlaintext
		}
	})
	return s.err
}

// Read reads from the decided connection.
func (s *sniffConn) Read(p []byte) (int, error) {
	if err := s.decide(); err != nil {
		return 0, err
	}
	return s.c.Read(p)
}

// Write writes to the decided connection.
func (s *sniffConn) Write(p []byte) (int, error) {
	if err := s.decide(); err != nil {
		return 0, err
	}
	return s.c.Write(p)
}

// NetConn returns the accepted connection (as crypto/tls's Conn does).
func (s *sniffConn) NetConn() net.Conn { return s.Conn }

// ConnectionState returns the TLS state of the connection, and false for
// a plaintext one (or before its first read).
func (s *sniffConn) ConnectionState() (tls.ConnectionState, bool) {
	if s.tc == nil || s.c == nil {
		return tls.ConnectionState{}, false
	}
	return s.tc.ConnectionState(), true
}

// prefixConn gives back a byte read ahead before reading on.
type prefixConn struct {
	net.Conn
	pre byte
	has bool
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if p.has && len(b) > 0 {
		b[0], p.has = p.pre, false
		return 1, nil
	}
	return p.Conn.Read(b)
}
