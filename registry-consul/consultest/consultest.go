package consultest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables that Binary and Require read.
const (
	// EnvBinary names the consul binary to run.
	EnvBinary = "SKIFF_CONSUL"
	// EnvRequire, set to 1, makes Require fail instead of skip when the
	// binary is missing.
	EnvRequire = "SKIFF_REQUIRE_CONSUL"
)

// Version is the Consul release the tests run.
const Version = "1.14.11"

// Binary returns the path of the consul binary: $SKIFF_CONSUL if set,
// else $HOME/.cache/skiff/consul-1.14.11/consul (where scripts/consul.sh
// builds it). It fails when that file is not an executable.
func Binary() (string, error) {
	p := os.Getenv(EnvBinary)
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no %s and no home directory: %w", EnvBinary, err)
		}
		p = filepath.Join(home, ".cache", "skiff", "consul-"+Version, "consul")
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable", p)
	}
	return p, nil
}

// Require returns the consul binary's path. When it is missing, it skips
// t with a message saying so, or fails t when SKIFF_REQUIRE_CONSUL=1.
func Require(t testing.TB) string {
	t.Helper()
	p, err := Binary()
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("the Consul %s agent is unavailable (%v); build it with scripts/consul.sh or set %s", Version, err, EnvBinary)
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s (%s=1: a missing agent is a failure)", msg, EnvRequire)
	}
	t.Skip(msg)
	return ""
}

// Agent is one running (or stopped) consul agent process that a test
// started.
type Agent struct {
	t       testing.TB
	bin     string
	args    []string
	ip      string
	ports   ports
	dataDir string

	// HTTPAddr is the agent's HTTP API address, "127.0.0.x:port".
	HTTPAddr string
	// SerfLANAddr is the address other agents join.
	SerfLANAddr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
}

type ports struct{ http, serfLAN, serfWAN, server int }

// Start runs a dev agent (in-memory, a server of its own one-node
// datacenter) on 127.0.0.1 with free ports, waits until it has a leader,
// and stops it when t ends. It calls Require first.
func Start(t testing.TB) *Agent {
	t.Helper()
	bin := Require(t)
	a := newAgent(t, bin, "127.0.0.1", "")
	a.args = append([]string{"agent", "-dev"}, a.commonArgs()...)
	a.start()
	a.WaitLeader(60 * time.Second)
	return a
}

// StartPersistent runs a one-server agent that keeps its state in a data
// directory (unlike a dev agent), so a restarted agent remembers what was
// registered. Otherwise as Start.
func StartPersistent(t testing.TB) *Agent {
	t.Helper()
	bin := Require(t)
	a := newAgent(t, bin, "127.0.0.1", t.TempDir())
	a.args = append([]string{"agent", "-server", "-bootstrap-expect", "1", "-data-dir", a.dataDir,
		"-disable-host-node-id", "-hcl", "performance { raft_multiplier = 1 }"}, a.commonArgs()...)
	a.start()
	a.WaitLeader(60 * time.Second)
	return a
}

// StartCluster runs n server agents, the i-th bound to 127.0.0.(2+i) with
// its own data directory, joined into one datacenter, and waits until the
// cluster has a leader. They are stopped when t ends.
func StartCluster(t testing.TB, n int) []*Agent {
	t.Helper()
	bin := Require(t)
	agents := make([]*Agent, n)
	for i := range agents {
		ip := "127.0.0." + strconv.Itoa(2+i)
		agents[i] = newAgent(t, bin, ip, t.TempDir())
	}
	for i, a := range agents {
		args := []string{"agent", "-server", "-bootstrap-expect", strconv.Itoa(n), "-data-dir", a.dataDir,
			"-disable-host-node-id", "-node", fmt.Sprintf("skiff-server-%d", i),
			"-hcl", "performance { raft_multiplier = 1 }"}
		for j, b := range agents {
			if j != i {
				args = append(args, "-retry-join", b.SerfLANAddr)
			}
		}
		a.args = append(args, a.commonArgs()...)
	}
	for _, a := range agents {
		a.start()
	}
	for _, a := range agents {
		a.WaitLeader(90 * time.Second)
	}
	return agents
}

func newAgent(t testing.TB, bin, ip, dataDir string) *Agent {
	t.Helper()
	// Four distinct ports: a port freed by one pick can come back from
	// the next.
	var got []int
	pick := func() int {
		for range 50 {
			p := freePort(t, ip)
			if !slices.Contains(got, p) {
				got = append(got, p)
				return p
			}
		}
		t.Fatalf("consultest: no distinct free port on %s", ip)
		return 0
	}
	p := ports{http: pick(), serfLAN: pick(), serfWAN: pick(), server: pick()}
	a := &Agent{t: t, bin: bin, ip: ip, ports: p, dataDir: dataDir,
		HTTPAddr:    net.JoinHostPort(ip, strconv.Itoa(p.http)),
		SerfLANAddr: net.JoinHostPort(ip, strconv.Itoa(p.serfLAN)),
		log:         &lockedBuffer{}}
	t.Cleanup(func() {
		a.Stop()
		if t.Failed() {
			t.Logf("consul agent %s output:\n%s", a.HTTPAddr, a.log.tail(64<<10))
		}
	})
	return a
}

func (a *Agent) commonArgs() []string {
	return []string{"-bind", a.ip, "-client", a.ip, "-advertise", a.ip,
		"-http-port", strconv.Itoa(a.ports.http), "-dns-port", "-1", "-grpc-port", "-1", "-grpc-tls-port", "-1",
		"-serf-lan-port", strconv.Itoa(a.ports.serfLAN), "-serf-wan-port", strconv.Itoa(a.ports.serfWAN),
		"-server-port", strconv.Itoa(a.ports.server), "-log-level", "info"}
}

// freePort returns a TCP port that is free on ip now (and, for serf, on
// UDP too).
func freePort(t testing.TB, ip string) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatalf("consultest: listen on %s: %v", ip, err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		_ = ln.Close()
		if err == nil {
			_ = pc.Close()
			return port
		}
	}
	t.Fatalf("consultest: no free port on %s", ip)
	return 0
}

func (a *Agent) start() {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	cmd := exec.Command(a.bin, a.args...)
	cmd.Stdout, cmd.Stderr = a.log, a.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("consultest: start %s: %v", a.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	a.cmd, a.done = cmd, done
}

// Running reports whether the agent process is running.
func (a *Agent) Running() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		return false
	}
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}

// PID returns the agent process's id, or 0 when it has not started.
func (a *Agent) PID() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil || a.cmd.Process == nil {
		return 0
	}
	return a.cmd.Process.Pid
}

// Stop ends the agent gracefully (SIGTERM; SIGKILL after 15 s) and waits
// for it. Stopping a stopped agent does nothing.
func (a *Agent) Stop() { a.signal(syscall.SIGTERM) }

// Kill ends the agent with SIGKILL and waits for it.
func (a *Agent) Kill() { a.signal(syscall.SIGKILL) }

func (a *Agent) signal(sig syscall.Signal) {
	a.mu.Lock()
	cmd, done := a.cmd, a.done
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart starts the stopped agent again with the same ports and data
// directory (a dev agent comes back empty). It does not wait for a
// leader; see WaitLeader.
func (a *Agent) Restart() {
	a.t.Helper()
	if a.Running() {
		a.t.Fatalf("consultest: Restart of running agent %s", a.HTTPAddr)
	}
	a.start()
}

// WaitLeader waits until the agent answers and knows a cluster leader,
// failing the test after d.
func (a *Agent) WaitLeader(d time.Duration) {
	a.t.Helper()
	if err := a.waitLeader(d); err != nil {
		a.t.Fatalf("consultest: agent %s: %v\n%s", a.HTTPAddr, err, a.log.tail(16<<10))
	}
}

func (a *Agent) waitLeader(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	var last error
	for {
		if !a.Running() {
			return errors.New("the agent process exited")
		}
		leader, err := get(ctx, hc, "http://"+a.HTTPAddr+"/v1/status/leader")
		if err == nil && strings.Trim(strings.TrimSpace(leader), `"`) != "" {
			return nil
		}
		if err != nil {
			last = err
		} else {
			last = errors.New("no leader yet")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no leader within %v: %v", d, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Leader returns the server address (ip:server-port) of the current
// leader as this agent sees it, or "".
func (a *Agent) Leader() string {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	s, err := get(context.Background(), hc, "http://"+a.HTTPAddr+"/v1/status/leader")
	if err != nil {
		return ""
	}
	return strings.Trim(strings.TrimSpace(s), `"`)
}

// ServerAddr is the agent's server RPC address, as Leader reports it.
func (a *Agent) ServerAddr() string { return net.JoinHostPort(a.ip, strconv.Itoa(a.ports.server)) }

// Log returns the agent's output so far (its last 64 KiB).
func (a *Agent) Log() string { return a.log.tail(64 << 10) }

func get(ctx context.Context, hc *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	return string(b), nil
}

// lockedBuffer collects a process's output, keeping the last 1 MiB.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		keep := b.buf.Bytes()[b.buf.Len()-512<<10:]
		b.buf = *bytes.NewBuffer(append([]byte(nil), keep...))
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}
