package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/breaker"
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/registrytest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// The handler's modes.
const (
	modeOK     = iota
	modeFail60 // 3 calls in 5 fail with a handler error (a remote internal error)
	modeBiz    // every call returns a business error
	modeSlow   // every call succeeds after 200 ms
)

// handler is an EchoService that counts the calls it serves.
type handler struct {
	hits atomic.Int64
	n    atomic.Int64
	mode atomic.Int32
}

func (h *handler) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	h.hits.Add(1)
	switch h.mode.Load() {
	case modeFail60:
		if h.n.Add(1)%5 < 3 {
			return nil, errors.New("database unreachable")
		}
	case modeBiz:
		return nil, status.NewBizError(4001, "insufficient balance")
	case modeSlow:
		time.Sleep(200 * time.Millisecond)
	}
	return &echo.EchoResponse{Message: req.Message}, nil
}

func (h *handler) Fail(ctx context.Context, code int32) (*echo.EchoResponse, error) {
	h.hits.Add(1)
	return nil, &echo.EchoError{Code: code, Reason: "requested failure"}
}

func (h *handler) Notify(context.Context, string) error { return nil }

// start starts a server of h on a loopback port and returns it and its
// address.
func start(t *testing.T, h *handler) (*server.Server, string) {
	t.Helper()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithExitWaitTime(time.Second))
	if err := svr.RegisterService(echo.ServiceInfo(), h); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr, svr.Addr().String()
}

func newClient(t *testing.T, opts ...client.Option) *echo.Client {
	t.Helper()
	cli, err := client.New(echo.ServiceInfo(), append([]client.Option{client.WithTransport(ttheader.TTHeader),
		client.WithRPCTimeout(3 * time.Second), client.WithLogger(quiet), client.WithCaller("tester")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return echo.NewClient(cli)
}

// events records a suite's state changes.
type events struct {
	mu  sync.Mutex
	evs []breaker.Event
}

func (e *events) add(ev breaker.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := ""
	for _, ev := range e.evs {
		s += fmt.Sprintf("[%s %s %s->%s]", ev.Level, ev.Key, ev.From, ev.To)
	}
	return s
}

var echoKey = breaker.ServiceKey{Caller: "tester", Service: "EchoService", Method: "Echo"}

// TestServiceBreakerStopsCallsAndRecovers: 250 calls at 60 % failures trip
// the service-level breaker; the calls after it fail fast with
// ErrCircuitOpen and no longer reach the server. After the open timeout
// one probe goes through while the other calls are still rejected, and
// its success closes the breaker.
func TestServiceBreakerStopsCallsAndRecovers(t *testing.T) {
	h := &handler{}
	h.mode.Store(modeFail60)
	_, addr := start(t, h)
	var evs events
	const openTimeout = 500 * time.Millisecond
	s := breaker.NewSuite(breaker.WithLogger(quiet), breaker.WithStateChangeHandler(evs.add),
		breaker.WithServiceConfig(breaker.Config{ErrorRate: 0.5, MinSamples: 50, Window: 10 * time.Second, OpenTimeout: openTimeout}),
		// Keep the instance level out of this test's way.
		breaker.WithInstanceConfig(breaker.Config{Disabled: true}))
	ec := newClient(t, client.WithHostPorts(addr), client.WithSuite(s))

	var ok, failed, open int
	hitsAtOpen := int64(-1)
	var openLatency time.Duration
	for i := range 250 {
		began := time.Now()
		_, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: fmt.Sprint(i)})
		switch {
		case err == nil:
			ok++
		case errors.Is(err, status.ErrCircuitOpen):
			if open == 0 {
				hitsAtOpen = h.hits.Load()
			}
			open++
			openLatency = max(openLatency, time.Since(began))
		case errors.Is(err, status.ErrRemote):
			failed++
		default:
			t.Fatalf("call %d: unexpected error %v", i, err)
		}
	}
	hits := h.hits.Load()
	t.Logf("250 calls at 60%% failures: %d ok, %d failed, %d rejected by the open breaker; the server served %d; slowest rejection %v; events %s",
		ok, failed, open, hits, openLatency, &evs)
	if hits != 50 {
		t.Errorf("the server served %d calls, want 50 (the breaker trips at MinSamples with 60%% failures)", hits)
	}
	if open != 200 || hitsAtOpen != hits {
		t.Errorf("%d calls rejected (want 200); the server had served %d at the first rejection and %d at the end", open, hitsAtOpen, hits)
	}
	if s.ServiceState(echoKey) != breaker.Open {
		t.Fatalf("state %v, want open", s.ServiceState(echoKey))
	}

	// After the open timeout: the callee is healthy again but slow, so that
	// the probe is still in flight while 9 more calls arrive.
	h.mode.Store(modeSlow)
	time.Sleep(openTimeout + 100*time.Millisecond)
	before := h.hits.Load()
	var wg sync.WaitGroup
	var probeOK, rejected atomic.Int64
	probeDone := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(probeDone)
		if _, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "probe"}); err == nil {
			probeOK.Add(1)
		} else {
			t.Errorf("probe: %v", err)
		}
	}()
	// Wait until the probe is on the server.
	for deadline := time.Now().Add(5 * time.Second); h.hits.Load() == before && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	for range 9 {
		if _, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "during probe"}); errors.Is(err, status.ErrCircuitOpen) {
			rejected.Add(1)
		} else {
			t.Errorf("call during the probe: %v, want circuit open", err)
		}
	}
	<-probeDone
	wg.Wait()
	if got := h.hits.Load() - before; got != 1 || probeOK.Load() != 1 || rejected.Load() != 9 {
		t.Errorf("half-open: %d calls reached the server (want 1), probe ok %d, rejected %d (want 9)", got, probeOK.Load(), rejected.Load())
	}
	if s.ServiceState(echoKey) != breaker.Closed {
		t.Fatalf("after a successful probe: %v, want closed", s.ServiceState(echoKey))
	}
	h.mode.Store(modeOK)
	for i := range 20 {
		if _, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "after"}); err != nil {
			t.Fatalf("call %d after closing: %v", i, err)
		}
	}
	want := "[service tester/EchoService/Echo closed->open][service tester/EchoService/Echo open->half-open][service tester/EchoService/Echo half-open->closed]"
	if evs.String() != want {
		t.Errorf("events %s\nwant %s", &evs, want)
	}
	if st := s.Stats(breaker.LevelService); st.Opened != 1 || st.HalfOpened != 1 || st.Closed != 1 || st.Rejected != 209 {
		t.Errorf("stats %+v", st)
	}
}

// retryMiddleware tries a call up to 3 times while it fails with an error
// that a retry policy may retry elsewhere: never sent, connection lost (the
// echo method is idempotent), or every instance's circuit open.
func retryMiddleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		var err error
		for range 3 {
			err = next(ctx, req, resp)
			if err == nil || !(errors.Is(err, status.ErrUnsent) || errors.Is(err, status.ErrConnLost) || errors.Is(err, status.ErrCircuitOpen)) {
				return err
			}
		}
		return err
	}
}

// TestKilledInstanceIsSkipped: of three instances one is killed; once its
// instance breaker opens no attempt goes to it, and with a retry no error
// reaches the user.
func TestKilledInstanceIsSkipped(t *testing.T) {
	var hs [3]*handler
	var svrs [3]*server.Server
	var addrs [3]string
	for i := range hs {
		hs[i] = &handler{}
		svrs[i], addrs[i] = start(t, hs[i])
	}
	victim := addrs[1]
	var evs events
	var opened atomic.Bool
	s := breaker.NewSuite(breaker.WithLogger(quiet),
		breaker.WithInstanceConfig(breaker.Config{ErrorRate: 0.5, MinSamples: 10, OpenTimeout: time.Minute}),
		breaker.WithStateChangeHandler(func(ev breaker.Event) {
			evs.add(ev)
			if ev.Level == breaker.LevelInstance && ev.Key == victim && ev.To == breaker.Open {
				opened.Store(true)
			}
		}))
	var mu sync.Mutex
	attempts := map[string]int{}
	afterOpen := 0 // attempts to the victim started after its breaker opened
	record := func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			addr := callinfo.AttemptFrom(ctx).Address
			mu.Lock()
			attempts[addr]++
			if addr == victim && opened.Load() {
				afterOpen++
			}
			mu.Unlock()
			return next(ctx, req, resp)
		}
	}
	ec := newClient(t, client.WithHostPorts(addrs[:]...), client.WithMiddleware(retryMiddleware),
		client.WithSuite(s), client.WithInstanceMiddleware(record))

	do := func(n int, phase string) {
		t.Helper()
		for i := range n {
			if _, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: phase}); err != nil {
				t.Fatalf("%s call %d: an error reached the user: %v", phase, i, err)
			}
		}
	}
	do(60, "warm")
	if err := svrs[1].Stop(); err != nil {
		t.Fatal(err)
	}
	victimHits := hs[1].hits.Load()
	do(300, "killed")
	mu.Lock()
	defer mu.Unlock()
	t.Logf("attempts per instance %v (victim %s); attempts to the victim after its breaker opened: %d; events %s; instance stats %+v",
		attempts, victim, afterOpen, &evs, s.Stats(breaker.LevelInstance))
	if !opened.Load() || s.InstanceState(victim) != breaker.Open {
		t.Fatalf("the killed instance's breaker did not open (state %v)", s.InstanceState(victim))
	}
	if afterOpen != 0 {
		t.Errorf("%d attempts went to the killed instance after its breaker opened", afterOpen)
	}
	if hs[1].hits.Load() != victimHits {
		t.Error("the stopped server served calls")
	}
	if hs[0].hits.Load()+hs[2].hits.Load() < 300 {
		t.Errorf("the live instances served %d calls", hs[0].hits.Load()+hs[2].hits.Load())
	}
	if s.InstanceState(addrs[0]) != breaker.Closed || s.InstanceState(addrs[2]) != breaker.Closed {
		t.Error("a live instance's breaker is not closed")
	}
	if s.ServiceState(echoKey) != breaker.Closed {
		t.Error("the service breaker opened")
	}
}

// TestAllInstancesOpen: with the only instance's breaker open, calls fail
// fast with ErrCircuitOpen from the balancer.
func TestAllInstancesOpen(t *testing.T) {
	h := &handler{}
	svr, addr := start(t, h)
	s := breaker.NewSuite(breaker.WithLogger(quiet),
		breaker.WithInstanceConfig(breaker.Config{MinSamples: 5, OpenTimeout: time.Minute}))
	ec := newClient(t, client.WithHostPorts(addr), client.WithSuite(s))
	if _, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "x"}); err != nil {
		t.Fatal(err)
	}
	_ = svr.Stop()
	// One success and four failures are five samples at 80 % failures.
	for i := range 4 {
		_, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "x"})
		if err == nil || errors.Is(err, status.ErrCircuitOpen) {
			t.Fatalf("call %d to a stopped server: %v", i, err)
		}
	}
	began := time.Now()
	_, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "x"})
	if !errors.Is(err, status.ErrCircuitOpen) {
		t.Fatalf("got %v, want circuit open", err)
	}
	t.Logf("rejected in %v: %v", time.Since(began), err)
	if st := s.Stats(breaker.LevelInstance); st.Rejected != 1 || st.Opened != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestRemovedInstanceDropsBreaker: discovery removing an instance drops
// its breaker; when it comes back it starts closed.
func TestRemovedInstanceDropsBreaker(t *testing.T) {
	h1, h2 := &handler{}, &handler{}
	_, a1 := start(t, h1)
	svr2, a2 := start(t, h2)
	reg := registrytest.NewMemory()
	for _, a := range []string{a1, a2} {
		tcp, err := net.ResolveTCPAddr("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Register(&registry.Info{ServiceName: "EchoService", Addr: tcp}); err != nil {
			t.Fatal(err)
		}
	}
	s := breaker.NewSuite(breaker.WithLogger(quiet),
		breaker.WithInstanceConfig(breaker.Config{MinSamples: 5, OpenTimeout: time.Minute}))
	ec := newClient(t, client.WithResolver(reg), client.WithDiscoveryRefresh(20*time.Millisecond),
		client.WithMiddleware(retryMiddleware), client.WithSuite(s))
	for range 10 {
		if _, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Instances() != 2 {
		t.Fatalf("%d instance breakers, want 2", s.Instances())
	}
	// Instance 2 dies without deregistering: its breaker opens.
	_ = svr2.Stop()
	for range 30 {
		if _, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if s.InstanceState(a2) != breaker.Open {
		t.Fatalf("dead instance %v", s.InstanceState(a2))
	}
	// Then discovery removes it.
	tcp2, _ := net.ResolveTCPAddr("tcp", a2)
	if err := reg.Deregister(&registry.Info{ServiceName: "EchoService", Addr: tcp2}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Instances() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.Instances(); n != 1 {
		t.Fatalf("%d instance breakers after discovery removed one, want 1", n)
	}
	if s.InstanceState(a2) != breaker.Closed {
		t.Fatal("the removed instance's breaker is still there")
	}
}

// TestBusinessErrorsNeverTrip: business errors and declared exceptions are
// the service answering; neither level ever trips on them.
func TestBusinessErrorsNeverTrip(t *testing.T) {
	h := &handler{}
	h.mode.Store(modeBiz)
	_, addr := start(t, h)
	s := breaker.NewSuite(breaker.WithLogger(quiet),
		breaker.WithServiceConfig(breaker.Config{MinSamples: 10}),
		breaker.WithInstanceConfig(breaker.Config{MinSamples: 10}))
	ec := newClient(t, client.WithHostPorts(addr), client.WithSuite(s))
	var biz, declared int
	for i := range 200 {
		_, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "x"})
		var be *status.BizError
		if !errors.As(err, &be) {
			t.Fatalf("call %d: %v, want a business error", i, err)
		}
		biz++
		_, err = ec.Fail(context.Background(), 7)
		var ee *echo.EchoError
		if !errors.As(err, &ee) {
			t.Fatalf("call %d: %v, want the declared EchoError", i, err)
		}
		declared++
	}
	if h.hits.Load() != 400 {
		t.Errorf("the server served %d calls, want 400", h.hits.Load())
	}
	for _, l := range []breaker.Level{breaker.LevelService, breaker.LevelInstance} {
		if st := s.Stats(l); st.Opened != 0 || st.Rejected != 0 {
			t.Errorf("%s stats %+v", l, st)
		}
	}
	t.Logf("%d business errors and %d declared exceptions; breakers closed", biz, declared)
}
