package callmodel_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/leaktest"
)

// childEnv names the role this test binary plays when it is run again as a
// helper process: "" for the tests themselves.
const childEnv = "SKIFF_CALLMODEL_CHILD"

// childLifetime bounds a helper process: it exits on its own after this
// long even if the test that started it is gone.
const childLifetime = 2 * time.Minute

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(childMain(role))
	}
	leaktest.VerifyTestMain(m)
}

// childMain runs the helper process role and returns its exit code.
func childMain(role string) int {
	time.AfterFunc(childLifetime, func() {
		fmt.Fprintf(os.Stderr, "callmodel child %s: still running after %v, exiting\n", role, childLifetime)
		os.Exit(3)
	})
	var err error
	switch role {
	case roleDeadlineServer:
		err = runDeadlineServer()
	case roleGRPCClient:
		err = runGRPCTimeoutClient()
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "callmodel child %s: %v\n", role, err)
		return 1
	}
	return 0
}

// quiet is the logger of every server and client here.
var quiet = slog.New(slog.DiscardHandler)

// child is this test binary run again as a helper process in a role.
type child struct {
	role   string
	cmd    *exec.Cmd
	lines  chan string // its stdout, line by line; closed at EOF
	stderr lockedBuffer
	done   chan struct{} // closed once it has exited; err is then set
	err    error         // what Wait returned
}

// startChild starts the helper process role with the extra environment
// env ("K=V"). It is stopped (SIGTERM, then SIGKILL) at cleanup.
func startChild(t *testing.T, role string, env ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{role: role, lines: make(chan string, 64), done: make(chan struct{})}
	c.cmd = exec.Command(exe, "-test.run=^$")
	c.cmd.Env = append(append(os.Environ(), childEnv+"="+role), env...)
	c.cmd.Stderr = &c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			default: // nobody reads that much; drop it
			}
		}
		close(c.lines)
		c.err = c.cmd.Wait() // after the last read of stdout
		close(c.done)
	}()
	t.Cleanup(func() { c.stop() })
	return c
}

// stop asks the process to end (SIGTERM), kills it if it has not within
// 10 s, and waits for it.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// line returns the next stdout line starting with prefix (without it),
// waiting up to d; ok is false when the process ended or d passed first.
func (c *child) line(prefix string, d time.Duration) (string, bool) {
	timeout := time.After(d)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return "", false
			}
			if rest, found := strings.CutPrefix(l, prefix); found {
				return rest, true
			}
		case <-timeout:
			return "", false
		}
	}
}

// outcome describes how the process ended: "exit status 0", a signal, a
// panic or a data race, followed by the first lines of its stderr that
// matter.
func (c *child) outcome() string {
	var what string
	var ee *exec.ExitError
	switch {
	case c.err == nil:
		what = "exit status 0"
	case errors.As(c.err, &ee) && ee.ExitCode() == 66:
		what = "exit status 66 (the race detector found a data race)"
	case errors.As(c.err, &ee) && ee.ExitCode() == 2:
		what = "exit status 2 (a panic or fatal runtime error)"
	default:
		what = c.err.Error()
	}
	return fmt.Sprintf("%s process %s\n%s", c.role, what, c.stderr.summary())
}

// lockedBuffer is an io.Writer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 4<<20 {
		return len(p), nil // keep the head, which is what we report
	}
	return b.buf.Write(p)
}

// summary returns the first lines of a panic or fatal error and the first
// lines of a data race report found in the buffer, or its first lines.
func (b *lockedBuffer) summary() string {
	b.mu.Lock()
	text := b.buf.String()
	b.mu.Unlock()
	if text == "" {
		return "(stderr empty)"
	}
	lines := strings.Split(text, "\n")
	var out []string
	pick := func(marker string, n int) {
		for i, l := range lines {
			if strings.HasPrefix(l, marker) {
				end := min(i+n, len(lines))
				out = append(out, lines[i:end]...)
				out = append(out, "...")
				return
			}
		}
	}
	pick("panic: ", 12)
	pick("fatal error: ", 12)
	pick("WARNING: DATA RACE", 16)
	if len(out) == 0 {
		out = lines[:min(20, len(lines))]
	}
	return "stderr:\n\t" + strings.Join(out, "\n\t")
}
