package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/breaker"
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/status"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// events records the events of a suite.
type events struct {
	mu  sync.Mutex
	evs []breaker.Event
}

func (e *events) add(ev breaker.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) transitions() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.evs {
		out = append(out, fmt.Sprintf("%s %s %s->%s", ev.Level, ev.Key, ev.From, ev.To))
	}
	return out
}

// call makes a call context the way the client does.
func call(service, method string) context.Context {
	ci := callinfo.NewCall(context.Background())
	ci.Caller, ci.Service, ci.Method = "me", service, method
	return ci
}

func TestDefaultClassifier(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want breaker.Outcome
	}{
		{"nil", nil, breaker.Success},
		{"timeout", status.Wrap(status.ErrTimeout, "t", nil), breaker.Failure},
		{"context deadline", context.DeadlineExceeded, breaker.Failure},
		{"connect", status.Wrap(status.ErrConnect, "c", nil), breaker.Failure},
		{"unsent", status.Wrap(status.ErrUnsent, "u", nil), breaker.Failure},
		{"conn lost", status.Wrap(status.ErrConnLost, "l", nil), breaker.Failure},
		{"protocol", status.Protocolf("bad"), breaker.Failure},
		{"remote internal", status.FromWire(status.Internal, status.KindNone, 0, "boom"), breaker.Failure},
		{"remote unknown", status.Exception(status.TypeUnknown, "boom"), breaker.Failure},
		{"remote invalid argument", status.FromWire(status.InvalidArgument, status.KindNone, 0, "bad arg"), breaker.Success},
		{"remote unimplemented", status.Exception(status.TypeUnknownMethod, "no such method"), breaker.Success},
		{"biz", status.NewBizError(1001, "no stock"), breaker.Success},
		{"wrapped biz", fmt.Errorf("ctx: %w", status.NewBizError(1, "x")), breaker.Success},
		{"declared", status.Declared(errors.New("EchoError")), breaker.Success},
		{"canceled", status.Wrap(status.ErrCanceled, "c", context.Canceled), breaker.Ignore},
		{"context canceled", context.Canceled, breaker.Ignore},
		{"circuit open", status.Wrap(status.ErrCircuitOpen, "o", nil), breaker.Ignore},
		{"no instance", status.Wrap(status.ErrNoInstance, "n", nil), breaker.Ignore},
		{"remote overload", status.FromWire(status.ResourceExhausted, status.KindOverload, 0, "shed"), breaker.Ignore},
		{"local encode error", status.Errorf(status.Internal, "encode request: x"), breaker.Ignore},
		{"plain error", errors.New("x"), breaker.Ignore},
	}
	for _, c := range cases {
		if got := breaker.DefaultClassifier(c.err); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func fastConfig() breaker.Config {
	return breaker.Config{ErrorRate: 0.5, MinSamples: 20, Window: 10 * time.Second, OpenTimeout: 100 * time.Millisecond, HalfOpenProbes: 2}
}

func TestServiceBreakerTripsProbesAndCloses(t *testing.T) {
	var evs events
	s := breaker.NewSuite(breaker.WithServiceConfig(fastConfig()), breaker.WithStateChangeHandler(evs.add), breaker.WithLogger(quiet))
	var hits atomic.Int64
	var fail atomic.Bool
	fail.Store(true)
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error {
		hits.Add(1)
		if fail.Load() {
			return status.FromWire(status.Internal, status.KindNone, 0, "boom")
		}
		return nil
	})
	key := breaker.ServiceKey{Caller: "me", Service: "Svc", Method: "M"}
	var rejected int
	for range 100 {
		err := ep(call("Svc", "M"), nil, nil)
		if errors.Is(err, status.ErrCircuitOpen) {
			rejected++
		}
	}
	if hits.Load() != 20 {
		t.Errorf("the endpoint was reached %d times, want 20 (MinSamples)", hits.Load())
	}
	if rejected != 80 {
		t.Errorf("%d calls rejected, want 80", rejected)
	}
	if st := s.ServiceState(key); st != breaker.Open {
		t.Fatalf("state %v, want open", st)
	}
	// Another method has its own breaker.
	if err := ep(call("Svc", "Other"), nil, nil); errors.Is(err, status.ErrCircuitOpen) {
		t.Fatal("another method was rejected")
	}
	time.Sleep(150 * time.Millisecond)
	fail.Store(false)
	before := hits.Load()
	// Half-open: the two probes pass and close the breaker.
	for range 2 {
		if err := ep(call("Svc", "M"), nil, nil); err != nil {
			t.Fatalf("probe: %v", err)
		}
	}
	if st := s.ServiceState(key); st != breaker.Closed {
		t.Fatalf("after two successful probes: %v, want closed", st)
	}
	if got := hits.Load() - before; got != 2 {
		t.Errorf("%d probes reached the endpoint, want 2", got)
	}
	want := []string{"service me/Svc/M closed->open", "service me/Svc/M open->half-open", "service me/Svc/M half-open->closed"}
	if got := evs.transitions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %q, want %q", got, want)
	}
	st := s.Stats(breaker.LevelService)
	if st.Opened != 1 || st.HalfOpened != 1 || st.Closed != 1 || st.Rejected != 80 {
		t.Errorf("stats %+v", st)
	}
}

func TestHalfOpenFailureReopensAndLimitsProbes(t *testing.T) {
	s := breaker.NewSuite(breaker.WithServiceConfig(breaker.Config{MinSamples: 5, OpenTimeout: 50 * time.Millisecond}), breaker.WithLogger(quiet))
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	var hits atomic.Int64
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error {
		hits.Add(1)
		if ctx.Value("block") != nil {
			entered <- struct{}{}
			<-release
		}
		return status.Wrap(status.ErrConnLost, "lost", nil)
	})
	for range 5 {
		_ = ep(call("S", "M"), nil, nil)
	}
	key := breaker.ServiceKey{Caller: "me", Service: "S", Method: "M"}
	if s.ServiceState(key) != breaker.Open {
		t.Fatal("not open after 5 failures")
	}
	time.Sleep(80 * time.Millisecond)
	// One probe (the default) at a time: while it is in flight, others are rejected.
	done := make(chan error)
	go func() { done <- ep(context.WithValue(call("S", "M"), "block", 1), nil, nil) }()
	<-entered
	if err := ep(call("S", "M"), nil, nil); !errors.Is(err, status.ErrCircuitOpen) {
		t.Fatalf("second call while the probe is in flight: %v", err)
	}
	close(release)
	if err := <-done; !errors.Is(err, status.ErrConnLost) {
		t.Fatalf("probe: %v", err)
	}
	if s.ServiceState(key) != breaker.Open {
		t.Fatalf("after a failed probe: %v, want open", s.ServiceState(key))
	}
	if hits.Load() != 6 {
		t.Fatalf("hits %d, want 6", hits.Load())
	}
}

func TestBusinessErrorsNeverTrip(t *testing.T) {
	s := breaker.NewSuite(breaker.WithServiceConfig(breaker.Config{MinSamples: 5}), breaker.WithLogger(quiet))
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error {
		return status.NewBizError(42, "out of stock")
	})
	for range 500 {
		if err := ep(call("S", "M"), nil, nil); errors.Is(err, status.ErrCircuitOpen) {
			t.Fatal("a business error tripped the breaker")
		}
	}
	if st := s.Stats(breaker.LevelService); st.Opened != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestClassifierOption(t *testing.T) {
	// Count business errors as failures, as a user may choose.
	s := breaker.NewSuite(breaker.WithServiceConfig(breaker.Config{MinSamples: 5}), breaker.WithLogger(quiet),
		breaker.WithClassifier(func(err error) breaker.Outcome {
			var be *status.BizError
			if errors.As(err, &be) {
				return breaker.Failure
			}
			return breaker.DefaultClassifier(err)
		}))
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error { return status.NewBizError(1, "x") })
	for range 5 {
		_ = ep(call("S", "M"), nil, nil)
	}
	if err := ep(call("S", "M"), nil, nil); !errors.Is(err, status.ErrCircuitOpen) {
		t.Fatalf("got %v, want circuit open", err)
	}
}

func TestIgnoredOutcomesAreNotSamples(t *testing.T) {
	s := breaker.NewSuite(breaker.WithServiceConfig(breaker.Config{MinSamples: 10}), breaker.WithLogger(quiet))
	var n atomic.Int64
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error {
		if n.Add(1)%2 == 0 {
			return status.Wrap(status.ErrCanceled, "caller gave up", context.Canceled)
		}
		return status.Wrap(status.ErrTimeout, "t", nil)
	})
	// 18 calls: 9 failures, 9 cancellations: fewer than 10 samples.
	for range 18 {
		_ = ep(call("S", "M"), nil, nil)
	}
	key := breaker.ServiceKey{Caller: "me", Service: "S", Method: "M"}
	if st := s.ServiceState(key); st != breaker.Closed {
		t.Fatalf("state %v after 9 failures and 9 cancellations, want closed", st)
	}
	_ = ep(call("S", "M"), nil, nil) // the 10th failure
	if st := s.ServiceState(key); st != breaker.Open {
		t.Fatalf("state %v after 10 failures, want open", st)
	}
}

func TestErrorRateBelowThresholdStaysClosed(t *testing.T) {
	s := breaker.NewSuite(breaker.WithServiceConfig(breaker.Config{MinSamples: 20, ErrorRate: 0.5}), breaker.WithLogger(quiet))
	var n atomic.Int64
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error {
		if n.Add(1)%5 < 2 { // 40 % failures
			return status.Wrap(status.ErrTimeout, "t", nil)
		}
		return nil
	})
	for range 1000 {
		if err := ep(call("S", "M"), nil, nil); errors.Is(err, status.ErrCircuitOpen) {
			t.Fatal("tripped at a 40 % error rate with a 50 % threshold")
		}
	}
}

func TestUpdateServiceConfigAtRunTime(t *testing.T) {
	s := breaker.NewSuite(breaker.WithServiceConfig(breaker.Config{MinSamples: 5, OpenTimeout: time.Hour}), breaker.WithLogger(quiet))
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error { return status.Wrap(status.ErrTimeout, "t", nil) })
	key := breaker.ServiceKey{Caller: "me", Service: "S", Method: "M"}
	for range 5 {
		_ = ep(call("S", "M"), nil, nil)
	}
	if s.ServiceState(key) != breaker.Open {
		t.Fatal("not open")
	}
	// Disabling the key lets calls through at once.
	s.UpdateServiceConfig(key, breaker.Config{Disabled: true})
	for range 50 {
		if err := ep(call("S", "M"), nil, nil); errors.Is(err, status.ErrCircuitOpen) {
			t.Fatal("disabled breaker rejected a call")
		}
	}
	// A higher sample floor applies from now on, to this key only.
	s.UpdateServiceConfig(key, breaker.Config{MinSamples: 30, OpenTimeout: time.Hour})
	for range 29 {
		if err := ep(call("S", "M"), nil, nil); errors.Is(err, status.ErrCircuitOpen) {
			t.Fatal("tripped before 30 samples")
		}
	}
	_ = ep(call("S", "M"), nil, nil)
	if s.ServiceState(key) != breaker.Open {
		t.Fatal("not open after 30 failures")
	}
	// Another key keeps the suite's default (5).
	for range 5 {
		_ = ep(call("S", "Other"), nil, nil)
	}
	if s.ServiceState(breaker.ServiceKey{Caller: "me", Service: "S", Method: "Other"}) != breaker.Open {
		t.Fatal("the default config did not apply to another key")
	}
}

// --- instance level ---

// fakeBalancer counts Done calls and observed changes, and can fail picks.
type fakeBalancer struct {
	inner   loadbalance.Balancer
	dones   atomic.Int64
	changes atomic.Int64
	pickErr error
}

func (f *fakeBalancer) Name() string { return "fake" }
func (f *fakeBalancer) Picker(res discovery.Result) loadbalance.Picker {
	return &fakePicker{f: f, p: f.inner.Picker(res)}
}
func (f *fakeBalancer) OnChange(string, discovery.Change) { f.changes.Add(1) }

type fakePicker struct {
	f *fakeBalancer
	p loadbalance.Picker
}

func (p *fakePicker) Next(ctx context.Context) discovery.Instance { return p.p.Next(ctx) }
func (p *fakePicker) Pick(ctx context.Context) (discovery.Instance, error) {
	if p.f.pickErr != nil {
		return nil, p.f.pickErr
	}
	return p.p.Next(ctx), nil
}
func (p *fakePicker) Done(context.Context, discovery.Instance, loadbalance.DoneInfo) {
	p.f.dones.Add(1)
}

func instances(addrs ...string) discovery.Result {
	var res discovery.Result
	for _, a := range addrs {
		res.Instances = append(res.Instances, discovery.NewInstance("tcp", a, 0, nil))
	}
	return res
}

// attempt picks with p and reports outcome err, as the client does.
func attempt(p loadbalance.Picker, fail func(addr string) error) (string, error) {
	ci := callinfo.NewCall(context.Background())
	ctx, at := ci.StartAttempt(ci)
	in, err := p.(loadbalance.ErrorPicker).Pick(ctx)
	if err != nil {
		return "", err
	}
	at.Instance = in
	p.(loadbalance.Feedback).Done(ctx, in, loadbalance.DoneInfo{Err: fail(in.Address())})
	return in.Address(), nil
}

func TestInstanceBreakerSkipsOpenInstance(t *testing.T) {
	var evs events
	s := breaker.NewSuite(breaker.WithInstanceConfig(breaker.Config{MinSamples: 10, OpenTimeout: 100 * time.Millisecond}),
		breaker.WithStateChangeHandler(evs.add), breaker.WithLogger(quiet))
	fb := &fakeBalancer{inner: loadbalance.NewWeightedRoundRobin()}
	b := s.WrapBalancer(fb)
	if b.Name() != "breaker(fake)" {
		t.Errorf("name %q", b.Name())
	}
	p := b.Picker(instances("10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"))
	dead := "10.0.0.2:1"
	var down atomic.Bool
	down.Store(true)
	fail := func(addr string) error {
		if addr == dead && down.Load() {
			return status.Wrap(status.ErrConnect, "refused", nil)
		}
		return nil
	}
	counts := map[string]int{}
	for range 60 {
		addr, err := attempt(p, fail)
		if err != nil {
			t.Fatal(err)
		}
		counts[addr]++
	}
	if counts[dead] != 10 {
		t.Errorf("the dead instance got %d attempts, want 10 (MinSamples)", counts[dead])
	}
	if s.InstanceState(dead) != breaker.Open {
		t.Fatalf("dead instance is %v", s.InstanceState(dead))
	}
	if fb.dones.Load() != 60 {
		t.Errorf("the wrapped picker got %d Done calls, want 60", fb.dones.Load())
	}
	// After the open timeout one probe goes to it; it succeeds and closes.
	time.Sleep(150 * time.Millisecond)
	down.Store(false)
	counts = map[string]int{}
	for range 30 {
		addr, _ := attempt(p, fail)
		counts[addr]++
	}
	if s.InstanceState(dead) != breaker.Closed {
		t.Fatalf("after the probe: %v", s.InstanceState(dead))
	}
	if counts[dead] < 8 {
		t.Errorf("the recovered instance got %d of 30 attempts", counts[dead])
	}
	want := []string{"instance 10.0.0.2:1 closed->open", "instance 10.0.0.2:1 open->half-open", "instance 10.0.0.2:1 half-open->closed"}
	if got := evs.transitions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if st := s.Stats(breaker.LevelInstance); st.Opened != 1 || st.Skipped == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestInstanceBreakerAllOpen(t *testing.T) {
	s := breaker.NewSuite(breaker.WithInstanceConfig(breaker.Config{MinSamples: 3, OpenTimeout: time.Hour}), breaker.WithLogger(quiet))
	p := s.WrapBalancer(loadbalance.NewWeightedRoundRobin()).Picker(instances("10.0.0.1:1", "10.0.0.2:1"))
	for range 6 {
		if _, err := attempt(p, func(string) error { return status.Wrap(status.ErrTimeout, "t", nil) }); err != nil {
			t.Fatal(err)
		}
	}
	_, err := attempt(p, func(string) error { return nil })
	if !errors.Is(err, status.ErrCircuitOpen) {
		t.Fatalf("pick with every instance open: %v", err)
	}
	if in := p.Next(context.Background()); in != nil {
		t.Fatalf("Next returned %v", in)
	}
	if st := s.Stats(breaker.LevelInstance); st.Rejected != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestInstanceBreakerPassesInnerCapabilities(t *testing.T) {
	s := breaker.NewSuite(breaker.WithLogger(quiet))
	wantErr := status.Wrap(status.ErrNoInstance, "zone empty", nil)
	fb := &fakeBalancer{inner: loadbalance.NewWeightedRoundRobin(), pickErr: wantErr}
	b := s.WrapBalancer(fb)
	p := b.Picker(instances("10.0.0.1:1"))
	if _, err := attempt(p, func(string) error { return nil }); err != wantErr {
		t.Fatalf("inner ErrorPicker error not passed on: %v", err)
	}
	b.(loadbalance.ChangeObserver).OnChange("S", discovery.Change{})
	if fb.changes.Load() != 1 {
		t.Fatal("OnChange not passed on")
	}
}

func TestRemovedInstancesAreDropped(t *testing.T) {
	s := breaker.NewSuite(breaker.WithInstanceConfig(breaker.Config{MinSamples: 3, OpenTimeout: time.Hour}), breaker.WithLogger(quiet))
	b := s.WrapBalancer(loadbalance.NewWeightedRoundRobin())
	old := instances("10.0.0.1:1", "10.0.0.2:1")
	b.(loadbalance.ChangeObserver).OnChange("S", discovery.Diff(discovery.Result{}, old))
	p := b.Picker(old)
	for range 6 {
		_, _ = attempt(p, func(a string) error {
			if a == "10.0.0.2:1" {
				return status.Wrap(status.ErrTimeout, "t", nil)
			}
			return nil
		})
	}
	if s.InstanceState("10.0.0.2:1") != breaker.Open || s.Instances() != 2 {
		t.Fatalf("state %v, %d breakers", s.InstanceState("10.0.0.2:1"), s.Instances())
	}
	now := instances("10.0.0.1:1")
	b.(loadbalance.ChangeObserver).OnChange("S", discovery.Diff(old, now))
	_ = b.Picker(now)
	if s.Instances() != 1 {
		t.Fatalf("%d breakers after the instance left, want 1", s.Instances())
	}
	// It comes back with a fresh breaker.
	b.(loadbalance.ChangeObserver).OnChange("S", discovery.Diff(now, old))
	p = b.Picker(old)
	if s.InstanceState("10.0.0.2:1") != breaker.Closed {
		t.Fatal("a returning instance kept its open breaker")
	}
	seen := map[string]bool{}
	for range 4 {
		a, err := attempt(p, func(string) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		seen[a] = true
	}
	if !seen["10.0.0.2:1"] {
		t.Fatal("the returning instance was not picked")
	}
}

func TestUpdateInstanceConfig(t *testing.T) {
	s := breaker.NewSuite(breaker.WithInstanceConfig(breaker.Config{MinSamples: 3, OpenTimeout: time.Hour}), breaker.WithLogger(quiet))
	s.UpdateInstanceConfig("10.0.0.2:1", breaker.Config{Disabled: true})
	p := s.WrapBalancer(loadbalance.NewWeightedRoundRobin()).Picker(instances("10.0.0.1:1", "10.0.0.2:1"))
	for range 20 {
		if _, err := attempt(p, func(string) error { return status.Wrap(status.ErrTimeout, "t", nil) }); err != nil {
			t.Fatal(err)
		}
	}
	if s.InstanceState("10.0.0.1:1") != breaker.Open || s.InstanceState("10.0.0.2:1") != breaker.Closed {
		t.Fatalf("states %v %v", s.InstanceState("10.0.0.1:1"), s.InstanceState("10.0.0.2:1"))
	}
}

func TestSuiteOptions(t *testing.T) {
	if n := len(breaker.NewSuite().Options()); n != 2 {
		t.Fatalf("%d options, want 2", n)
	}
	var _ endpoint.Middleware = breaker.NewSuite().ServiceMiddleware()
}

func TestPanickingProbeCountsAsFailure(t *testing.T) {
	s := breaker.NewSuite(breaker.WithServiceConfig(breaker.Config{MinSamples: 3, OpenTimeout: 30 * time.Millisecond}), breaker.WithLogger(quiet))
	var mode atomic.Int32 // 0 fail, 1 panic, 2 ok
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error {
		switch mode.Load() {
		case 1:
			panic("handler bug")
		case 2:
			return nil
		}
		return status.Wrap(status.ErrTimeout, "t", nil)
	})
	key := breaker.ServiceKey{Caller: "me", Service: "S", Method: "M"}
	for range 3 {
		_ = ep(call("S", "M"), nil, nil)
	}
	time.Sleep(50 * time.Millisecond)
	mode.Store(1)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic was swallowed")
			}
		}()
		_ = ep(call("S", "M"), nil, nil)
	}()
	if st := s.ServiceState(key); st != breaker.Open {
		t.Fatalf("after a panicking probe: %v, want open", st)
	}
	// The probe slot was not lost: the next probe goes through and closes it.
	time.Sleep(50 * time.Millisecond)
	mode.Store(2)
	if err := ep(call("S", "M"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if st := s.ServiceState(key); st != breaker.Closed {
		t.Fatalf("%v, want closed", st)
	}
}

func TestUpdateDefaults(t *testing.T) {
	s := breaker.NewSuite(breaker.WithServiceConfig(breaker.Config{MinSamples: 5, OpenTimeout: time.Hour}), breaker.WithLogger(quiet))
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error { return status.Wrap(status.ErrTimeout, "t", nil) })
	own := breaker.ServiceKey{Caller: "me", Service: "S", Method: "Own"}
	s.UpdateServiceConfig(own, breaker.Config{MinSamples: 5, OpenTimeout: time.Hour})
	for range 5 {
		_ = ep(call("S", "M"), nil, nil)
		_ = ep(call("S", "Own"), nil, nil)
	}
	key := breaker.ServiceKey{Caller: "me", Service: "S", Method: "M"}
	if s.ServiceState(key) != breaker.Open || s.ServiceState(own) != breaker.Open {
		t.Fatal("not open")
	}
	s.UpdateServiceDefault(breaker.Config{MinSamples: 100, OpenTimeout: time.Hour})
	if s.ServiceState(key) != breaker.Closed {
		t.Fatal("a breaker under the default did not restart with the new default")
	}
	if s.ServiceState(own) != breaker.Open {
		t.Fatal("a breaker with its own config was restarted by a default update")
	}
	for range 99 {
		_ = ep(call("S", "M"), nil, nil)
		_ = ep(call("S", "New"), nil, nil)
	}
	if s.ServiceState(key) != breaker.Closed || s.ServiceState(breaker.ServiceKey{Caller: "me", Service: "S", Method: "New"}) != breaker.Closed {
		t.Fatal("tripped before the new default's 100 samples")
	}

	s.UpdateInstanceDefault(breaker.Config{Disabled: true})
	p := s.WrapBalancer(loadbalance.NewWeightedRoundRobin()).Picker(instances("10.0.0.1:1"))
	for range 50 {
		if _, err := attempt(p, func(string) error { return status.Wrap(status.ErrTimeout, "t", nil) }); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConcurrentTransitions hammers both levels while they trip, probe and
// close, and checks that the events of each key form one chain (each
// change starts from the state the previous one ended in).
func TestConcurrentTransitions(t *testing.T) {
	var mu sync.Mutex
	last := map[string]breaker.State{}
	var broken []string
	s := breaker.NewSuite(breaker.WithLogger(quiet),
		breaker.WithServiceConfig(breaker.Config{MinSamples: 10, OpenTimeout: time.Millisecond, HalfOpenProbes: 3}),
		breaker.WithInstanceConfig(breaker.Config{MinSamples: 10, OpenTimeout: time.Millisecond, HalfOpenProbes: 2}),
		breaker.WithStateChangeHandler(func(ev breaker.Event) {
			mu.Lock()
			defer mu.Unlock()
			k := ev.Level.String() + " " + ev.Key
			if prev := last[k]; prev != ev.From {
				broken = append(broken, fmt.Sprintf("%s: %s->%s after ->%s", k, ev.From, ev.To, prev))
			}
			last[k] = ev.To
		}))
	var n atomic.Int64
	fail := func() error {
		if x := n.Add(1); x%7 < 4 {
			return status.Wrap(status.ErrTimeout, "t", nil)
		}
		return nil
	}
	ep := s.ServiceMiddleware()(func(ctx context.Context, req, resp any) error { return fail() })
	p := s.WrapBalancer(loadbalance.NewWeightedRoundRobin()).Picker(instances("10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3000 {
				if g%2 == 0 {
					_ = ep(call("S", "M"), nil, nil)
				} else {
					_, _ = attempt(p, func(string) error { return fail() })
				}
				if i%500 == 0 {
					time.Sleep(2 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(broken) > 0 {
		t.Fatalf("event chains broken: %q", broken)
	}
	if st := s.Stats(breaker.LevelService); st.Opened == 0 || st.Rejected == 0 {
		t.Errorf("service stats %+v: the breaker never opened", st)
	}
	if st := s.Stats(breaker.LevelInstance); st.Opened == 0 {
		t.Errorf("instance stats %+v: no breaker opened", st)
	}
	t.Logf("service %+v, instance %+v", s.Stats(breaker.LevelService), s.Stats(breaker.LevelInstance))
}

// valueInstance is an Instance whose dynamic type is not comparable.
type valueInstance struct {
	addr string
	tags map[string]string
}

func (v valueInstance) Network() string             { return "tcp" }
func (v valueInstance) Address() string             { return v.addr }
func (v valueInstance) Weight() int                 { return 10 }
func (v valueInstance) Tags() map[string]string     { return v.tags }
func (v valueInstance) Tag(k string) (string, bool) { t, ok := v.tags[k]; return t, ok }

func TestLargeAndUncomparableInstanceSets(t *testing.T) {
	var many []string
	for i := range 20 {
		many = append(many, fmt.Sprintf("10.0.0.%d:1", i+1))
	}
	var odd discovery.Result
	for i := range 3 {
		odd.Instances = append(odd.Instances, valueInstance{addr: fmt.Sprintf("10.1.0.%d:1", i+1), tags: map[string]string{}})
	}
	for name, res := range map[string]discovery.Result{"20 instances": instances(many...), "uncomparable": odd} {
		t.Run(name, func(t *testing.T) {
			s := breaker.NewSuite(breaker.WithInstanceConfig(breaker.Config{MinSamples: 3, OpenTimeout: time.Hour}), breaker.WithLogger(quiet))
			fb := &fakeBalancer{inner: loadbalance.NewWeightedRoundRobin()}
			p := s.WrapBalancer(fb).Picker(res)
			dead := res.Instances[1].Address()
			counts := map[string]int{}
			n := 10 * len(res.Instances)
			for range n {
				addr, err := attempt(p, func(a string) error {
					if a == dead {
						return status.Wrap(status.ErrTimeout, "t", nil)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				counts[addr]++
			}
			if counts[dead] != 3 || s.InstanceState(dead) != breaker.Open {
				t.Fatalf("dead instance: %d attempts (want 3), %v", counts[dead], s.InstanceState(dead))
			}
			if fb.dones.Load() != int64(n) {
				t.Fatalf("%d Done calls reached the wrapped picker, want %d", fb.dones.Load(), n)
			}
		})
	}
}
