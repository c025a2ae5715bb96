package h2transport

import (
	"bytes"
	"crypto/tls"
	"errors"
	"log/slog"

	"golang.org/x/net/http2"

	skconn "github.com/skiffrpc/skiff/core/conn"
	"github.com/skiffrpc/skiff/core/stream"
)

func init() { stream.Register(New()) }

// Protocol is the HTTP/2 stream protocol, named "http2". It is safe for
// concurrent use; each connection has its own state.
type Protocol struct {
	opts options
}

var _ stream.Protocol = (*Protocol)(nil)

// New returns the HTTP/2 protocol with opts applied to the defaults.
func New(opts ...Option) *Protocol {
	p := &Protocol{opts: defaultOptions()}
	for _, o := range opts {
		o(&p.opts)
	}
	if p.opts.streamMemory > 0 {
		p.opts.budget = &memBudget{limit: p.opts.streamMemory}
	}
	return p
}

// Name returns "http2".
func (p *Protocol) Name() string { return "http2" }

// clientPreface is the fixed start of every HTTP/2 client connection.
var clientPreface = []byte(http2.ClientPreface)

// Detect reports whether prefix starts the HTTP/2 client preface
// ("PRI * HTTP/2.0..."); at least 3 bytes are needed.
func (p *Protocol) Detect(prefix []byte) bool {
	return len(prefix) >= 3 && bytes.HasPrefix(clientPreface, prefix[:min(len(prefix), len(clientPreface))])
}

// NewServerConn takes over an accepted connection. Serve reads the client
// preface and then serves streams; each runs params.Handler in its own
// goroutine.
func (p *Protocol) NewServerConn(c skconn.Conn, params stream.ServerConnParams) (stream.ServerConn, error) {
	if params.Handler == nil {
		return nil, errors.New("h2transport: ServerConnParams.Handler is nil")
	}
	cc := newConn(c, &p.opts, true, params.Logger)
	cc.handler = params.Handler
	cc.budget = p.opts.budget
	return &serverConn{c: cc}, nil
}

// NewClientConn takes over a dialled connection, sends the preface and
// SETTINGS and waits for the server's SETTINGS.
func (p *Protocol) NewClientConn(c skconn.Conn, params stream.ClientConnParams) (stream.ClientConn, error) {
	cc := newConn(c, &p.opts, false, params.Logger)
	cc.authority = params.Authority
	done := make(chan struct{})
	if err := cc.clientHandshake(done); err != nil {
		return nil, err
	}
	return &clientConn{c: cc, readerDone: done}, nil
}

// isTLS reports whether c runs over TLS (a conn.NetConner over a *tls.Conn).
func isTLS(c skconn.Conn) bool {
	nc, ok := c.(skconn.NetConner)
	if !ok {
		return false
	}
	_, ok = nc.NetConn().(*tls.Conn)
	return ok
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
