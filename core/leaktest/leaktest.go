package leaktest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// engineFunctions are the functions of goroutines Skiff's engines keep for
// the life of the process: Netpoll's pollers and its worker pool.
var engineFunctions = []string{
	"github.com/cloudwego/netpoll.(*defaultPoll).Wait",
	"github.com/bytedance/gopkg/util/gopool.(*worker).run.func1",
}

// config is what the options set.
type config struct {
	anyFuncs map[string]bool
	topFuncs map[string]bool
	ids      map[int]bool
	wait     time.Duration
}

// Option changes what a check ignores.
type Option func(*config)

// IgnoreAnyFunction ignores goroutines that have the function (its full
// name as a stack trace prints it, such as
// "example.com/pkg.(*Type).Method") anywhere on their stack.
func IgnoreAnyFunction(name string) Option {
	return func(c *config) { c.anyFuncs[name] = true }
}

// IgnoreTopFunction ignores goroutines whose innermost frame is the
// function.
func IgnoreTopFunction(name string) Option {
	return func(c *config) { c.topFuncs[name] = true }
}

// IgnoreCurrent ignores the goroutines that exist when it is called.
func IgnoreCurrent() Option {
	ids := map[int]bool{}
	for _, g := range goroutines() {
		ids[g.id] = true
	}
	return func(c *config) {
		for id := range ids {
			c.ids[id] = true
		}
	}
}

// maxWait bounds how long Find waits for goroutines to end: generous, as
// a loaded machine may take a while to schedule a goroutine's last steps.
const maxWait = 5 * time.Second

func newConfig(opts []Option) *config {
	c := &config{anyFuncs: map[string]bool{}, topFuncs: map[string]bool{}, ids: map[int]bool{}, wait: maxWait}
	for _, f := range engineFunctions {
		c.anyFuncs[f] = true
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Find returns an error describing the goroutines, other than the calling
// one, that remain after waiting up to a few seconds for them to end, and
// that neither the options, the engines' process-wide goroutines, the
// testing package nor the runtime account for; nil if there are none.
func Find(opts ...Option) error {
	c := newConfig(opts)
	deadline := time.Now().Add(c.wait)
	sleep := time.Millisecond
	for {
		left := c.leaked()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			fmt.Fprintf(&b, "found unexpected goroutines (%d):", len(left))
			for _, g := range left {
				b.WriteString("\n\n")
				b.WriteString(g.text)
			}
			return errors.New(b.String())
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, 100*time.Millisecond)
	}
}

// leaked returns the goroutines the check does not ignore.
func (c *config) leaked() []goroutine {
	var out []goroutine
	all := goroutines()
	for i, g := range all {
		if i == 0 || c.ids[g.id] || c.ignored(g) {
			continue // the first is the calling goroutine
		}
		out = append(out, g)
	}
	return out
}

func (c *config) ignored(g goroutine) bool {
	if len(g.funcs) == 0 {
		return true
	}
	top := g.funcs[0]
	if c.topFuncs[top] {
		return true
	}
	for _, f := range g.funcs {
		if c.anyFuncs[f] {
			return true
		}
	}
	switch top {
	case "testing.RunTests", "testing.(*T).Run", "testing.(*T).Parallel", "testing.runFuzzing", "testing.runFuzzTests":
		// The testing package's own goroutines, waiting for tests.
		return strings.HasPrefix(g.state, "chan receive")
	case "os/signal.signal_recv", "os/signal.loop":
		// The goroutine importing os/signal starts.
		return true
	case "runtime.goexit":
		// A cgo callback's goroutine in a system call.
		return strings.HasPrefix(g.state, "syscall")
	}
	for _, f := range g.funcs {
		if f == "runtime.ensureSigM" || f == "runtime.ReadTrace" {
			return true // signal.Notify's and the execution tracer's
		}
	}
	return false
}

// VerifyNone fails t if goroutines remain that Find reports.
func VerifyNone(t testing.TB, opts ...Option) {
	t.Helper()
	if err := Find(opts...); err != nil {
		t.Error(err)
	}
}

// VerifyTestMain runs the tests of m and, when they pass, exits with
// status 1 if goroutines remain that Find reports (printing them), else
// with the tests' status. Call it from TestMain.
func VerifyTestMain(m *testing.M, opts ...Option) {
	code := m.Run()
	if code == 0 {
		if err := Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "leaktest: errors on a successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// goroutine is one goroutine of a stack dump.
type goroutine struct {
	id    int
	state string   // "chan receive", "IO wait", ...
	funcs []string // the functions on its stack, innermost first
	text  string   // its part of the dump
}

// goroutines returns every goroutine's stack, the calling goroutine's
// first, as runtime.Stack prints them.
func goroutines() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		if g, ok := parse(string(block)); ok {
			out = append(out, g)
		}
	}
	return out
}

// parse reads one goroutine of a dump:
//
//	goroutine 7 [chan receive, 2 minutes]:
//	example.com/pkg.(*T).f(0xc000012345, ...)
//		/src/pkg/f.go:12 +0x1d
//	created by example.com/pkg.g in goroutine 1
//		/src/pkg/g.go:30 +0x55
func parse(block string) (goroutine, bool) {
	lines := strings.Split(strings.TrimSpace(block), "\n")
	head, ok := strings.CutPrefix(lines[0], "goroutine ")
	if !ok {
		return goroutine{}, false
	}
	idText, rest, ok := strings.Cut(head, " [")
	id, err := strconv.Atoi(idText)
	if !ok || err != nil {
		return goroutine{}, false
	}
	state, _, _ := strings.Cut(strings.TrimSuffix(rest, "]:"), ",")
	g := goroutine{id: id, state: strings.TrimSuffix(state, "]:"), text: strings.TrimSpace(block)}
	for _, l := range lines[1:] {
		if l == "" || l[0] == '\t' || l[0] == ' ' {
			continue // a file:line, or indentation
		}
		if strings.HasPrefix(l, "created by ") || strings.HasPrefix(l, "[originating from") {
			break // the creator belongs to another goroutine's stack
		}
		name := l
		if i := strings.LastIndexByte(l, '('); i > 0 && strings.HasSuffix(l, ")") {
			name = l[:i]
		}
		g.funcs = append(g.funcs, name)
	}
	return g, true
}
