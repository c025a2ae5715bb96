package streamtest_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/internal/toystream"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/stream"
	"github.com/skiffrpc/skiff/core/streamtest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// toystreamGaps are the checks the toy transport fails, with the reasons.
// Each is a place where it does not do what core/stream's documentation
// promises; the checks run on transport-http2 (and on fixed toys below).
var toystreamGaps = map[string]string{
	"PseudoHeaders":   "toystream adds no :method, :scheme or :authority to requests and no :status to responses",
	"ServerResetRead": "toystream: a server stream's own Reset does not make its blocked Read return (it blocks until the connection ends, and not even then)",
	"HandlerPanics":   "toystream does not recover a panicking handler (the test binary would crash)",
	"ClientClose":     "toystream: Available stays true after ClientConn.Close until its reader notices, NewStream on the closed connection panics on Netpoll (Malloc on a closed connection), and the handler of an open stream reads io.EOF, as if the request were complete",
	"ServeResult":     "toystream: Serve returns the read error, not nil, after ServerConn.Close",
}

func TestToystream(t *testing.T) {
	streamtest.Run(t, toystream.Protocol, streamtest.Params{Skip: toystreamGaps})
}

// buggy wraps the toy transport with one contract violation, named by
// bug, for Run to catch.
type buggy struct {
	stream.Protocol
	bug string
}

func (p buggy) Detect(prefix []byte) bool {
	if p.bug == "detectsFramed" {
		return true
	}
	return p.Protocol.Detect(prefix)
}

func (p buggy) NewServerConn(c engine.Conn, prm stream.ServerConnParams) (stream.ServerConn, error) {
	h := prm.Handler
	prm.Handler = func(s stream.RawServerStream) { h(&buggyServerStream{RawServerStream: s, bug: p.bug}) }
	return p.Protocol.NewServerConn(c, prm)
}

func (p buggy) NewClientConn(c engine.Conn, prm stream.ClientConnParams) (stream.ClientConn, error) {
	cc, err := p.Protocol.NewClientConn(c, prm)
	if err != nil {
		return nil, err
	}
	if p.bug == "leaks" {
		never := make(chan struct{})
		go func() { <-never }()
	}
	return &buggyClientConn{ClientConn: cc, bug: p.bug}, nil
}

type buggyServerStream struct {
	stream.RawServerStream
	bug string
	buf []byte // noFlush: everything written, sent by Close
}

func (s *buggyServerStream) Header() stream.Header {
	h := s.RawServerStream.Header()
	if s.bug == "dropsField" {
		for i, f := range h {
			if f.Name == "x-streamtest-multi" {
				return append(h[:i:i], h[i+1:]...)
			}
		}
	}
	return h
}

func (s *buggyServerStream) Context() context.Context {
	if s.bug == "contextNeverDone" {
		return context.Background()
	}
	return s.RawServerStream.Context()
}

func (s *buggyServerStream) Write(p []byte) (int, error) {
	if s.bug == "noFlush" {
		s.buf = append(s.buf, p...)
		return len(p), nil
	}
	return s.RawServerStream.Write(p)
}

func (s *buggyServerStream) Close(trailer stream.Header) error {
	if len(s.buf) > 0 {
		if _, err := s.RawServerStream.Write(s.buf); err != nil {
			return err
		}
	}
	return s.RawServerStream.Close(trailer)
}

type buggyClientConn struct {
	stream.ClientConn
	bug string
}

func (c *buggyClientConn) NewStream(ctx context.Context, h stream.Header) (stream.RawClientStream, error) {
	cs, err := c.ClientConn.NewStream(ctx, h)
	if err != nil {
		if c.bug == "wrongKind" {
			return nil, errors.New(err.Error())
		}
		return nil, err
	}
	return &buggyClientStream{RawClientStream: cs, bug: c.bug}, nil
}

func (c *buggyClientConn) Streams() int {
	n := c.ClientConn.Streams()
	if c.bug == "countsWrong" && n > 0 {
		n++
	}
	return n
}

type buggyClientStream struct {
	stream.RawClientStream
	bug  string
	read int
}

func (s *buggyClientStream) Header() (stream.Header, error) {
	h, err := s.RawClientStream.Header()
	if s.bug == "eofOnReset" && err != nil {
		return h, nil // and Read says io.EOF
	}
	return h, err
}

func (s *buggyClientStream) Read(p []byte) (int, error) {
	n, err := s.RawClientStream.Read(p)
	if s.bug == "corrupts" && s.read <= 100<<10 && s.read+n > 100<<10 {
		p[100<<10-s.read] ^= 1
	}
	s.read += n
	if s.bug == "eofOnReset" && err != nil {
		err = io.EOF
	}
	return n, err
}

const brokenEnv = "STREAMTEST_BROKEN"

// TestBroken runs one check on a broken transport in a child process (a
// failing Run fails its test).
func TestBroken(t *testing.T) {
	bug := os.Getenv(brokenEnv)
	if bug == "" {
		t.Skip("run by TestRunFailsOnBrokenTransports")
	}
	streamtest.Run(t, buggy{Protocol: toystream.Protocol, bug: bug},
		streamtest.Params{Engines: []engine.Engine{engine.Std}, Timeout: 2 * time.Second, Skip: toystreamGaps})
}

func TestRunFailsOnBrokenTransports(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("child process")
	}
	for _, c := range []struct{ bug, check, want string }{
		{"detectsFramed", "Detect", "start of a Thrift Framed connection, want false"},
		{"dropsField", "Headers", `x-streamtest-multi = ["b"], want ["a" "b"]`},
		{"noFlush", "Flush", "round 0: the handler's answer to a flushed write"},
		{"corrupts", "Echo", "first difference at byte 102400"},
		{"countsWrong", "Streams", "Streams() = 4 with three streams open, want 3"},
		{"eofOnReset", "ClientReset", "after Reset the client's blocked Read returned EOF, want an error"},
		{"contextNeverDone", "ClientReset", "the server stream's Context is not done"},
		{"wrongKind", "Shutdown", "want an error matching status.ErrUnsent"},
		{"leaks", "Headers", "found unexpected goroutines"},
	} {
		t.Run(c.bug, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBroken$/^std$/^"+c.check+"$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+c.bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("Run passed a transport with bug %s:\n%s", c.bug, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestBroken/std/"+c.check) {
				t.Errorf("check %s did not fail:\n%s", c.check, out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Errorf("Run's failure does not mention %q:\n%s", c.want, out)
			}
		})
	}
}
