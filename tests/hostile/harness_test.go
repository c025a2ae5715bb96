//go:build linux

package hostile_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// child is the server process.
type child struct {
	cmd   *exec.Cmd
	addr  string
	stdin io.WriteCloser
	out   *bufio.Scanner
	mu    sync.Mutex // one stats exchange at a time
}

// startChild re-executes the test binary as a server on eng.
func startChild(t *testing.T, eng string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// GOGC=100 turns the heap floor off in the child (see core/gcfloor):
	// the RSS bounds measure what hostile connections cost, and the
	// floor's headroom (up to 16 MiB of garbage between collections)
	// would count as their growth.
	cmd.Env = append(os.Environ(), childEnv+"="+eng, "GOGC=100")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() {
		_ = stdin.Close() // the child stops its server and exits
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	if !c.out.Scan() || !strings.HasPrefix(c.out.Text(), "ADDR ") {
		t.Fatalf("child server did not start: %q, %v", c.out.Text(), c.out.Err())
	}
	c.addr = strings.TrimPrefix(c.out.Text(), "ADDR ")
	return c
}

// stats asks the child for its runtime and server figures.
func (c *child) stats(t *testing.T) childStats {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var st childStats
	if _, err := io.WriteString(c.stdin, "stats\n"); err != nil {
		t.Fatal(err)
	}
	if !c.out.Scan() {
		t.Fatalf("child stats: %v", c.out.Err())
	}
	if err := json.Unmarshal(c.out.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// free makes the child return freed memory to the system and returns its
// RSS after that: the baseline of the next phase.
func (c *child) free(t *testing.T) int64 {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.stdin, "free\n"); err != nil {
		t.Fatal(err)
	}
	if !c.out.Scan() || c.out.Text() != "OK" {
		t.Fatalf("child free: %q, %v", c.out.Text(), c.out.Err())
	}
	return c.rss()
}

// rss returns the child's resident set size in bytes, from /proc.
func (c *child) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// peakRSS samples the child's RSS every 20 ms until stop is called, which
// returns the largest sample.
func (c *child) peakRSS() (stop func() int64) {
	var peak atomic.Int64
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			if r := c.rss(); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-ended
		return peak.Load()
	}
}

// raiseFDLimit makes sure the process may open n descriptors, raising the
// soft limit if it must; it skips the test if that is impossible.
func raiseFDLimit(t *testing.T, n uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot read RLIMIT_NOFILE: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("this suite needs %d file descriptors; the hard limit is %d (raise it: ulimit -Hn)", n, lim.Max)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot raise RLIMIT_NOFILE to %d: %v", n, err)
	}
}

// healthy calls the server all along and records each call's latency and
// error in the current window.
type healthy struct {
	mu     sync.Mutex
	lat    []time.Duration
	errs   int
	sample []string
	calls  []func(ctx context.Context) error
	stop   chan struct{}
	wg     sync.WaitGroup
}

// run starts one sequential caller per call function.
func (h *healthy) run() {
	h.stop = make(chan struct{})
	for _, call := range h.calls {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for {
				select {
				case <-h.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				t0 := time.Now()
				err := call(ctx)
				d := time.Since(t0)
				cancel()
				h.mu.Lock()
				h.lat = append(h.lat, d)
				if err != nil {
					h.errs++
					if len(h.sample) < 5 {
						h.sample = append(h.sample, err.Error())
					}
				}
				h.mu.Unlock()
				time.Sleep(time.Millisecond) // about 500 calls a second each: load, not a flood
			}
		}()
	}
}

func (h *healthy) close() {
	close(h.stop)
	h.wg.Wait()
}

// window is what the healthy client saw over a span.
type window struct {
	calls, errs int
	p50, p99    time.Duration
	sample      []string
}

// reset starts a new window.
func (h *healthy) reset() {
	h.mu.Lock()
	h.lat, h.errs, h.sample = h.lat[:0], 0, nil
	h.mu.Unlock()
}

// take returns the window since the last reset, and starts a new one.
func (h *healthy) take() window {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := window{calls: len(h.lat), errs: h.errs, sample: h.sample}
	lat := slices.Clone(h.lat)
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		w.p50 = lat[n/2]
		w.p99 = lat[min(n-1, n*99/100)]
	}
	h.lat, h.errs, h.sample = h.lat[:0], 0, nil
	return w
}

// crowd is a set of attacking connections, each watched by a reader that
// notes when the server closes it.
type crowd struct {
	conns    []net.Conn
	closed   atomic.Int64
	lastDone atomic.Int64 // unix nanoseconds of the last close seen
	quit     atomic.Bool  // the test is closing them: not counted
	wg       sync.WaitGroup
}

// dialCrowd opens n connections to addr, 64 at a time.
func dialCrowd(t *testing.T, addr string, n int) *crowd {
	t.Helper()
	cr := &crowd{conns: make([]net.Conn, n)}
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			cr.conns[i] = c
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		cr.close()
		t.Fatalf("dialling %d connections: %v", n, err)
	}
	return cr
}

// watch starts a reader per connection that counts the server's closes;
// onData, if set, gets what the server sends.
func (cr *crowd) watch() {
	for _, c := range cr.conns {
		cr.wg.Add(1)
		go func() {
			defer cr.wg.Done()
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					if !cr.quit.Load() && !errors.Is(err, net.ErrClosed) {
						cr.closed.Add(1)
						cr.lastDone.Store(time.Now().UnixNano())
					}
					return
				}
			}
		}()
	}
}

// waitClosed waits up to d for the server to close every connection and
// reports how many it closed and when the last one went.
func (cr *crowd) waitClosed(d time.Duration) (int, time.Time) {
	deadline := time.Now().Add(d)
	for cr.closed.Load() < int64(len(cr.conns)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return int(cr.closed.Load()), time.Unix(0, cr.lastDone.Load())
}

// close closes every connection and waits for the readers.
func (cr *crowd) close() {
	cr.quit.Store(true)
	for _, c := range cr.conns {
		if c != nil {
			_ = c.Close()
		}
	}
	cr.wg.Wait()
}
