package consul_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
	consul "github.com/skiffrpc/skiff/registry-consul"
)

const service = "EchoService"

// named is an echo handler that answers with its server's name.
type named struct {
	name  string
	calls atomic.Int64
}

func (h *named) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	h.calls.Add(1)
	return &echo.EchoResponse{Message: h.name, Seq: req.Seq}, nil
}

func (h *named) Fail(context.Context, int32) (*echo.EchoResponse, error) {
	return nil, errors.New("not used")
}

func (h *named) Notify(context.Context, string) error { return nil }

// newRegistry returns a Registry on the agent at addr, closed at cleanup.
func newRegistry(t testing.TB, addr string, opts ...consul.Option) *consul.Registry {
	t.Helper()
	r, err := consul.NewRegistry(append([]consul.Option{consul.WithAddress(addr), consul.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// newResolver returns a Resolver on the agent at addr, closed at cleanup.
func newResolver(t testing.TB, addr string, opts ...consul.Option) *consul.Resolver {
	t.Helper()
	r, err := consul.NewResolver(append([]consul.Option{consul.WithAddress(addr), consul.WithLogger(quiet),
		consul.WithBackoff(50*time.Millisecond, time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// startServer starts an echo server named name on 127.0.0.1, registered
// through reg (nil: not registered); it is stopped at cleanup.
func startServer(t testing.TB, name string, reg registry.Registry, opts ...server.Option) (*server.Server, *named) {
	t.Helper()
	h := &named{name: name}
	opts = append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
		server.WithExitWaitTime(5 * time.Second)}, opts...)
	if reg != nil {
		opts = append(opts, server.WithRegistry(reg, &registry.Info{ServiceName: service}))
	}
	svr := server.New(opts...)
	if err := svr.RegisterService(echo.ServiceInfo(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	if err := svr.RegisterErr(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr, h
}

// pickerSpy wraps the client's balancer and records each instance set the
// client builds a picker for, with the time.
type pickerSpy struct {
	loadbalance.Balancer
	mu   sync.Mutex
	sets []pickerSet
	note chan struct{}
}

type pickerSet struct {
	at    time.Time
	addrs []string // sorted
}

func newPickerSpy() *pickerSpy { return &pickerSpy{note: make(chan struct{}, 1)} }

func (s *pickerSpy) wrap(b loadbalance.Balancer) loadbalance.Balancer {
	s.Balancer = b
	return s
}

func (s *pickerSpy) Picker(res discovery.Result) loadbalance.Picker {
	addrs := make([]string, len(res.Instances))
	for i, in := range res.Instances {
		addrs[i] = in.Address()
	}
	slices.Sort(addrs)
	s.mu.Lock()
	s.sets = append(s.sets, pickerSet{time.Now(), addrs})
	s.mu.Unlock()
	select {
	case s.note <- struct{}{}:
	default:
	}
	return avoidingPicker{s.Balancer.Picker(res), len(res.Instances)}
}

// current returns the last instance set.
func (s *pickerSpy) current() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sets) == 0 {
		return nil
	}
	return s.sets[len(s.sets)-1].addrs
}

// await waits up to d until cond holds for the current set, and returns
// when the set that made it hold was built.
func (s *pickerSpy) await(t testing.TB, d time.Duration, what string, cond func([]string) bool) time.Time {
	t.Helper()
	deadline := time.After(d)
	for {
		s.mu.Lock()
		var last pickerSet
		if len(s.sets) > 0 {
			last = s.sets[len(s.sets)-1]
		}
		s.mu.Unlock()
		if cond(last.addrs) {
			return last.at
		}
		select {
		case <-s.note:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: the client's instances are %v after %v", what, last.addrs, d)
		}
	}
}

func has(addr string) func([]string) bool {
	return func(s []string) bool { return slices.Contains(s, addr) }
}

func hasNot(addr string) func([]string) bool {
	return func(s []string) bool { return len(s) > 0 && !slices.Contains(s, addr) }
}

// retryLost is the client middleware standing in for the retry issue's
// default policy, which has not landed: a call that never reached a
// server (status.ErrUnsent, such as a refused connection to a killed
// server still in the picker) is tried again, and so is a call whose
// connection was lost after it was sent (status.ErrConnLost), since Echo
// is idempotent. Up to two more attempts, each avoiding the instances
// that failed before (avoidFailed and the picker spy); it counts them.
func retryLost(n *atomic.Int64) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			ctx = context.WithValue(ctx, avoidKey{}, &avoid{})
			err := next(ctx, req, resp)
			for i := 0; i < 2 && retriable(err); i++ {
				n.Add(1)
				err = next(ctx, req, resp)
			}
			return err
		}
	}
}

func retriable(err error) bool {
	return err != nil && (errors.Is(err, status.ErrUnsent) || errors.Is(err, status.ErrConnLost))
}

type avoidKey struct{}

// avoid is the set of addresses a call's attempts failed on.
type avoid struct {
	mu    sync.Mutex
	addrs []string
}

func (a *avoid) has(addr string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Contains(a.addrs, addr)
}

// avoidFailed is the instance middleware that notes where an attempt
// failed, for retryLost.
func avoidFailed(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		err := next(ctx, req, resp)
		if retriable(err) {
			if a, ok := ctx.Value(avoidKey{}).(*avoid); ok {
				if at := callinfo.AttemptFrom(ctx); at != nil {
					a.mu.Lock()
					a.addrs = append(a.addrs, at.Address)
					a.mu.Unlock()
				}
			}
		}
		return err
	}
}

// avoidingPicker skips the instances a retried call failed on, while
// others remain.
type avoidingPicker struct {
	loadbalance.Picker
	n int
}

func (p avoidingPicker) Next(ctx context.Context) discovery.Instance {
	a, _ := ctx.Value(avoidKey{}).(*avoid)
	in := p.Picker.Next(ctx)
	for i := 0; a != nil && in != nil && i < 2*p.n && a.has(in.Address()); i++ {
		in = p.Picker.Next(ctx)
	}
	return in
}

// newClient returns an echo client resolving through r, its picker spy
// and the count of lost-connection retries.
func newClient(t testing.TB, r discovery.Resolver, opts ...client.Option) (*echo.Client, *pickerSpy, *atomic.Int64) {
	t.Helper()
	spy := newPickerSpy()
	retried := &atomic.Int64{}
	opts = append([]client.Option{client.WithResolver(r), client.WithBalancerWrapper(spy.wrap),
		client.WithRPCTimeout(3 * time.Second), client.WithLogger(quiet),
		client.WithMiddleware(retryLost(retried)), client.WithInstanceMiddleware(avoidFailed)}, opts...)
	cli, err := client.New(echo.ServiceInfo(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return echo.NewClient(cli), spy, retried
}

// load calls Echo from workers goroutines until stopped, counting the
// answers per server name and the failures.
type load struct {
	stub   *echo.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	by     map[string]int
	ok     int
	failed int
	errs   []error
}

func startLoad(t testing.TB, stub *echo.Client, workers int) *load {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{stub: stub, cancel: cancel, by: map[string]int{}}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				resp, err := stub.Echo(context.Background(), &echo.EchoRequest{Message: "hi"})
				l.mu.Lock()
				if err != nil {
					l.failed++
					if len(l.errs) < 10 {
						l.errs = append(l.errs, err)
					}
				} else {
					l.ok++
					l.by[resp.Message]++
				}
				l.mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// snapshot returns the counts so far.
func (l *load) snapshot() (ok, failed int, by map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	by = make(map[string]int, len(l.by))
	for k, v := range l.by {
		by[k] = v
	}
	return l.ok, l.failed, by
}

// awaitCalls waits until server name has answered at least n more calls
// than it had.
func (l *load) awaitCalls(t testing.TB, name string, n int) {
	t.Helper()
	_, _, by := l.snapshot()
	base := by[name]
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, by := l.snapshot()
		if by[name] >= base+n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s answered %d calls in 20 s, want %d", name, by[name]-base, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *load) checkNoFailures(t testing.TB) {
	t.Helper()
	ok, failed, by := l.snapshot()
	l.mu.Lock()
	errs := l.errs
	l.mu.Unlock()
	if len(by) <= 10 {
		t.Logf("calls: %d ok (by server %v), %d failed", ok, by, failed)
	} else {
		t.Logf("calls: %d ok (by %d servers), %d failed", ok, len(by), failed)
	}
	if failed > 0 {
		t.Fatalf("%d calls failed; first errors: %v", failed, errs)
	}
}

// child is a server process (this test binary run again).
type child struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

// startChild runs a server process named name, registered through the
// agent at agentAddr with the check TTL ttl, listening on listen.
func startChild(t testing.TB, name, agentAddr, listen string, ttl time.Duration) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, childAgent+"="+agentAddr, childAddr+"="+listen,
		childTTL+"="+ttl.String(), childService+"="+service)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "addr "); ok {
				addrc <- a
			}
		}
		_ = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { c.kill() })
	select {
	case c.addr = <-addrc:
	case <-c.done:
		t.Fatalf("server process %s exited before serving", name)
	case <-time.After(30 * time.Second):
		t.Fatalf("server process %s did not start within 30 s", name)
	}
	return c
}

// kill ends the process with SIGKILL and waits for it.
func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// freeAddr returns a free 127.0.0.1 address.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
