package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Run is one framework in one scenario.
type Run struct {
	Framework   string  `json:"framework"`
	Concurrency int     `json:"concurrency"`
	Size        int     `json:"size"`
	Seconds     float64 `json:"seconds"`
	Calls       int64   `json:"calls"`
	Errors      int64   `json:"errors"`
	QPS         float64 `json:"qps"`
	P50         float64 `json:"p50_us"`
	P99         float64 `json:"p99_us"`
	P999        float64 `json:"p999_us"`
	Max         float64 `json:"max_us"`
	// ClientCPUPerCall is the client's CPU µs per call, as it measured.
	ClientCPUPerCall float64 `json:"client_cpu_us_per_call"`
	// ServerCPUPerCall is the server's utime+stime over the window divided
	// by the calls, in µs.
	ServerCPUPerCall float64 `json:"server_cpu_us_per_call"`
	// ServerAllocsPerCall is the server's heap allocations (Go's
	// MemStats.Mallocs) over the window divided by the calls.
	ServerAllocsPerCall float64 `json:"server_allocs_per_call"`
	// ClientAllocsPerCall is the client's, as it measured (its loop's
	// request struct included).
	ClientAllocsPerCall float64 `json:"client_allocs_per_call"`
	// ServerCPUUtil is the server's CPU time over the window's wall time
	// (1 = one CPU busy).
	ServerCPUUtil float64 `json:"server_cpu_util"`
	// ServerRSSMB is the server's VmRSS at the end of the window, in MiB.
	ServerRSSMB float64 `json:"server_rss_mb"`
	// OtherCPUUtil is the machine's busy CPU time over the window (from
	// /proc/stat) less the server's and the client's, per second of the
	// window: load from anything else, which skews the numbers. StealUtil
	// is the hypervisor's steal time likewise.
	OtherCPUUtil float64 `json:"other_cpu_util"`
	StealUtil    float64 `json:"steal_util"`
	FirstError   string  `json:"first_error,omitempty"`
	// Error is set when the run failed; the numbers are then not valid.
	Error string `json:"error,omitempty"`
}

// proc is a started process in its own process group.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	out  *tailBuffer
}

func start(name string, args []string, stdout io.Writer, stderr io.Writer) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{cmd: cmd, done: make(chan struct{}), out: &tailBuffer{max: 4096}}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	if stdout == nil {
		cmd.Stdout = p.out
	}
	if stderr == nil {
		cmd.Stderr = p.out
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends sig to the process group, waits up to grace, then kills the
// group. The group is the one this program created; nothing else is
// touched.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.pid(), sig)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func pinned(cfg config, cpus string, args ...string) (string, []string) {
	if !cfg.Pinned {
		return args[0], args[1:]
	}
	return "taskset", append([]string{"-c", cpus}, args...)
}

func runOne(ctx context.Context, cfg config, bin, outDir, fw string, s scenario) Run {
	r := Run{Framework: fw, Concurrency: s.conc, Size: s.size}
	if err := runOneErr(ctx, cfg, bin, outDir, &r); err != nil {
		r.Error = err.Error()
	}
	return r
}

func runOneErr(ctx context.Context, cfg config, bin, outDir string, r *Run) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	sargs := []string{bin, "server", "-framework", r.Framework, "-addr", addr}
	cargs := []string{bin, "client", "-framework", r.Framework, "-addr", addr,
		"-c", strconv.Itoa(r.Concurrency), "-size", strconv.Itoa(r.Size),
		"-warmup", cfg.Warmup.String(), "-duration", cfg.Duration.String()}
	if cfg.SlowEvery > 0 {
		slow := []string{"-slow-every", strconv.Itoa(cfg.SlowEvery), "-slow-delay", cfg.SlowDelay.String()}
		sargs = append(sargs, slow...)
		cargs = append(cargs, slow...)
	}
	if cfg.CPUProfile {
		dir := filepath.Join(outDir, "profiles")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		base := filepath.Join(dir, fmt.Sprintf("%s-c%d-s%d", r.Framework, r.Concurrency, r.Size))
		sargs = append(sargs, "-cpuprofile", base+".server.cpu.pprof")
		cargs = append(cargs, "-cpuprofile", base+".client.cpu.pprof")
	}
	name, args := pinned(cfg, cfg.ServerCPU, sargs...)
	spr, spw := io.Pipe()
	srv, err := start(name, args, spw, nil)
	if err != nil {
		spw.Close()
		return fmt.Errorf("starting server: %w", err)
	}
	defer srv.stop(syscall.SIGTERM, 5*time.Second)
	go func() { <-srv.done; spw.Close() }()
	// The server prints "bench: mallocs N" on SIGUSR1.
	mallocs := make(chan uint64, 4)
	go func() {
		sc := bufio.NewScanner(spr)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "bench: mallocs "); ok {
				if n, err := strconv.ParseUint(v, 10, 64); err == nil {
					select {
					case mallocs <- n:
					default:
					}
				}
			} else {
				srv.out.Write([]byte(sc.Text() + "\n"))
			}
		}
		_, _ = io.Copy(io.Discard, spr)
	}()
	serverMallocs := func() (uint64, bool) {
		if err := syscall.Kill(srv.pid(), syscall.SIGUSR1); err != nil {
			return 0, false
		}
		select {
		case n := <-mallocs:
			return n, true
		case <-time.After(time.Second):
			return 0, false
		}
	}
	if err := waitListening(ctx, srv, addr, 15*time.Second); err != nil {
		return err
	}
	spid := strconv.Itoa(srv.pid())

	var stdout bytes.Buffer
	pr, pw := io.Pipe()
	name, args = pinned(cfg, cfg.ClientCPU, cargs...)
	cli, err := start(name, args, &stdout, pw)
	if err != nil {
		pw.Close()
		return fmt.Errorf("starting client: %w", err)
	}
	defer cli.stop(syscall.SIGKILL, time.Second)
	go func() { <-cli.done; pw.Close() }()

	// Read the client's stderr: the window's edges, and the rest for errors.
	cpid := strconv.Itoa(cli.pid())
	var (
		mu              sync.Mutex
		cpu0, cpu1, rss = -1.0, -1.0, -1.0
		ccpu0, ccpu1    = -1.0, -1.0
		m0, m1          uint64
		m0ok, m1ok      bool
		sys0, sys1      sysCPU
		t0, t1          time.Time
		stderrTail      = &tailBuffer{max: 4096}
	)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			switch line {
			case "bench: measure start":
				c, cc, sc := procCPU(spid), procCPU(cpid), readSysCPU()
				mu.Lock()
				cpu0, ccpu0, sys0, t0 = c, cc, sc, time.Now()
				mu.Unlock()
				n, ok := serverMallocs()
				mu.Lock()
				m0, m0ok = n, ok
				mu.Unlock()
			case "bench: measure end":
				c, cc, sc, m := procCPU(spid), procCPU(cpid), readSysCPU(), procRSS(spid)
				n, ok := serverMallocs()
				mu.Lock()
				cpu1, ccpu1, sys1, rss, t1 = c, cc, sc, m, time.Now()
				m1, m1ok = n, ok
				mu.Unlock()
			default:
				stderrTail.Write([]byte(line + "\n"))
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()

	limit := cfg.Warmup + cfg.Duration + 60*time.Second
	select {
	case <-cli.done:
	case <-srv.done:
		return fmt.Errorf("server exited during the run: %v: %s", srv.err, srv.out.String())
	case <-time.After(limit):
		return fmt.Errorf("client did not finish within %v", limit)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	select {
	case <-scanned:
	case <-time.After(5 * time.Second):
	}
	if cli.err != nil {
		return fmt.Errorf("client: %v: %s", cli.err, strings.TrimSpace(stderrTail.String()))
	}
	var res Run
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		return fmt.Errorf("client output %q: %w", stdout.String(), err)
	}
	res.Framework, res.Concurrency, res.Size = r.Framework, r.Concurrency, r.Size
	*r = res
	mu.Lock()
	defer mu.Unlock()
	d := t1.Sub(t0).Seconds()
	if cpu0 >= 0 && cpu1 >= 0 && r.Calls > 0 {
		r.ServerCPUPerCall = (cpu1 - cpu0) * 1e6 / float64(r.Calls)
		if d > 0 {
			r.ServerCPUUtil = (cpu1 - cpu0) / d
		}
	}
	if d > 0 && sys0.ok && sys1.ok && cpu0 >= 0 && cpu1 >= 0 && ccpu0 >= 0 && ccpu1 >= 0 {
		r.OtherCPUUtil = max(0, (sys1.busy-sys0.busy-(cpu1-cpu0)-(ccpu1-ccpu0))/d)
		r.StealUtil = (sys1.steal - sys0.steal) / d
	}
	if rss >= 0 {
		r.ServerRSSMB = rss
	}
	if m0ok && m1ok && r.Calls > 0 && m1 >= m0 {
		r.ServerAllocsPerCall = float64(m1-m0) / float64(r.Calls)
	}
	if r.Calls == 0 {
		return fmt.Errorf("no successful calls (%d errors, first: %s)", r.Errors, r.FirstError)
	}
	return nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// waitListening dials addr until it answers, the server exits, or the
// deadline passes.
func waitListening(ctx context.Context, srv *proc, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			// Let a server that runs its accept loop after listening settle.
			time.Sleep(100 * time.Millisecond)
			return nil
		}
		if srv.exited() {
			return fmt.Errorf("server exited at start: %v: %s", srv.err, srv.out.String())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not listening on %s after %v: %s", addr, limit, srv.out.String())
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procCPU returns utime+stime of /proc/<pid>/stat in seconds, or -1.
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3; utime is field 14, stime 15
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (u + st) / 100 // USER_HZ is 100 on Linux
}

// sysCPU is the machine's CPU time in seconds from /proc/stat.
type sysCPU struct {
	busy, steal float64
	ok          bool
}

// readSysCPU sums user, nice, system, irq, softirq and steal of the "cpu"
// line of /proc/stat (guest time is already in user).
func readSysCPU() sysCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return sysCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return sysCPU{}
	}
	v := make([]float64, 8)
	for i := range v {
		n, err := strconv.ParseFloat(f[i+1], 64)
		if err != nil {
			return sysCPU{}
		}
		v[i] = n / 100 // USER_HZ
	}
	// user nice system idle iowait irq softirq steal
	return sysCPU{busy: v[0] + v[1] + v[2] + v[5] + v[6] + v[7], steal: v[7], ok: true}
}

// procRSS returns VmRSS of /proc/<pid>/status in MiB, or -1.
func procRSS(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				if err == nil {
					return kb / 1024
				}
			}
		}
	}
	return -1
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
