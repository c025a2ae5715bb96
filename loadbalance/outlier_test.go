package loadbalance_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/discovery"
	lb "github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/loadbalance"
)

// events collects a detector's events.
type events struct {
	mu sync.Mutex
	ev []loadbalance.OutlierEvent
}

func (e *events) add(ev loadbalance.OutlierEvent) {
	e.mu.Lock()
	e.ev = append(e.ev, ev)
	e.mu.Unlock()
}

func (e *events) all() []loadbalance.OutlierEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]loadbalance.OutlierEvent(nil), e.ev...)
}

// picks returns the instances picked in n picks.
func picks(p lb.Picker, n int) map[string]int {
	m := map[string]int{}
	for range n {
		m[p.Next(context.Background()).Address()]++
	}
	return m
}

func fail(p lb.Picker, in discovery.Instance, n int, err error) {
	for range n {
		p.(lb.Feedback).Done(context.Background(), in, lb.DoneInfo{Err: err, Latency: time.Millisecond})
	}
}

var errConnect = status.Wrap(status.ErrConnect, "connection refused", nil)

func TestOutlierEjectAndReturn(t *testing.T) {
	var ev events
	d := loadbalance.NewOutlierDetector(loadbalance.WithEjectionBackoff(100*time.Millisecond, time.Second),
		loadbalance.WithOutlierObserver(ev.add))
	ins := instances(10, 10, 10, 10, 10, 10, 10, 10, 10, 10)
	b := d.Wrap(lb.NewWeightedRoundRobin())
	p := b.Picker(result(ins...))
	bad := ins[4]

	fail(p, bad, 4, errConnect)
	if d.Ejected(bad.Address()) {
		t.Fatal("ejected after 4 failures, the threshold is 5")
	}
	fail(p, bad, 1, errConnect)
	if !d.Ejected(bad.Address()) {
		t.Fatal("not ejected after 5 failures in a row")
	}
	if n := picks(p, 200)[bad.Address()]; n != 0 {
		t.Fatalf("ejected instance picked %d times", n)
	}
	if s := d.Stats(); s.Ejections != 1 || s.Ejected != 1 {
		t.Fatalf("stats %+v", s)
	}
	// Back after the backoff (noticed at a pick).
	time.Sleep(150 * time.Millisecond)
	if n := picks(p, 100)[bad.Address()]; n == 0 {
		t.Fatal("instance not back after its backoff")
	}
	if s := d.Stats(); s.Returns != 1 || s.Ejected != 0 {
		t.Fatalf("stats after return %+v", s)
	}
	// Ejected again soon after: the backoff doubles.
	fail(p, bad, 5, errConnect)
	got := ev.all()
	want := []loadbalance.OutlierEvent{
		{Kind: loadbalance.Ejected, Address: bad.Address(), Reason: loadbalance.ReasonConsecutiveFailures, Backoff: 100 * time.Millisecond},
		{Kind: loadbalance.Returned, Address: bad.Address()},
		{Kind: loadbalance.Ejected, Address: bad.Address(), Reason: loadbalance.ReasonConsecutiveFailures, Backoff: 200 * time.Millisecond},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
}

func TestOutlierBackoffCap(t *testing.T) {
	var ev events
	d := loadbalance.NewOutlierDetector(loadbalance.WithEjectionBackoff(10*time.Millisecond, 25*time.Millisecond),
		loadbalance.WithConsecutiveFailures(1), loadbalance.WithOutlierObserver(ev.add))
	ins := instances(10, 10)
	p := d.Wrap(lb.NewWeightedRoundRobin()).Picker(result(ins...))
	for range 4 {
		fail(p, ins[0], 1, errConnect)
		deadline := time.Now().Add(5 * time.Second)
		for d.Ejected(ins[0].Address()) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
			p.Next(context.Background())
		}
	}
	var backoffs []time.Duration
	for _, e := range ev.all() {
		if e.Kind == loadbalance.Ejected {
			backoffs = append(backoffs, e.Backoff)
		}
	}
	if fmt.Sprint(backoffs) != "[10ms 20ms 25ms 25ms]" {
		t.Errorf("backoffs %v, want [10ms 20ms 25ms 25ms]", backoffs)
	}
}

func TestOutlierMaxPercent(t *testing.T) {
	d := loadbalance.NewOutlierDetector() // 10 %: 1 of 10
	ins := instances(10, 10, 10, 10, 10, 10, 10, 10, 10, 10)
	p := d.Wrap(lb.NewWeightedRoundRobin()).Picker(result(ins...))
	fail(p, ins[0], 5, errConnect)
	fail(p, ins[1], 5, errConnect)
	if !d.Ejected(ins[0].Address()) || d.Ejected(ins[1].Address()) {
		t.Fatal("want only the first failing instance ejected")
	}
	if s := d.Stats(); s.Ejections != 1 || s.Skipped != 1 {
		t.Fatalf("stats %+v", s)
	}
	if picks(p, 100)[ins[1].Address()] == 0 {
		t.Error("the instance whose ejection was skipped got no calls")
	}

	// Never the last instance, even at 100 %.
	d = loadbalance.NewOutlierDetector(loadbalance.WithMaxEjectionPercent(100))
	two := instances(10, 10)
	p = d.Wrap(lb.NewWeightedRoundRobin()).Picker(result(two...))
	fail(p, two[0], 5, errConnect)
	fail(p, two[1], 5, errConnect)
	if s := d.Stats(); s.Ejected != 1 {
		t.Fatalf("%d of 2 instances ejected", s.Ejected)
	}
	if in := p.Next(context.Background()); in == nil {
		t.Fatal("no instance left")
	}
}

func TestOutlierWhatCounts(t *testing.T) {
	d := loadbalance.NewOutlierDetector(loadbalance.WithConsecutiveFailures(3))
	ins := instances(10, 10)
	p := d.Wrap(lb.NewWeightedRoundRobin()).Picker(result(ins...))
	for _, err := range []error{
		status.Declared(errors.New("declared exception")),
		status.NewBizError(42, "no such user"),
		fmt.Errorf("wrapped: %w", status.NewBizError(42, "no such user")),
		status.Wrap(status.ErrCanceled, "backup request lost", nil),
		context.Canceled,
		status.Remote(status.InvalidArgument, 0, "bad request"),
		status.Remote(status.NotFound, 0, "no such thing"),
	} {
		fail(p, ins[0], 10, err)
		if d.Ejected(ins[0].Address()) {
			t.Fatalf("ejected on %v", err)
		}
	}
	// A success breaks a run of failures.
	fail(p, ins[0], 2, errConnect)
	fail(p, ins[0], 1, nil)
	fail(p, ins[0], 2, errConnect)
	if d.Ejected(ins[0].Address()) {
		t.Fatal("ejected although the failures were not in a row")
	}
	for _, err := range []error{
		status.Wrap(status.ErrTimeout, "rpc timeout", nil),
		status.Remote(status.Internal, 0, "handler failed"),
		status.Wrap(status.ErrConnLost, "reset", nil),
	} {
		d := loadbalance.NewOutlierDetector(loadbalance.WithConsecutiveFailures(3))
		p := d.Wrap(lb.NewWeightedRoundRobin()).Picker(result(ins...))
		fail(p, ins[0], 3, err)
		if !d.Ejected(ins[0].Address()) {
			t.Errorf("not ejected on %v", err)
		}
	}
}

func TestOutlierSuccessRate(t *testing.T) {
	var ev events
	d := loadbalance.NewOutlierDetector(loadbalance.WithConsecutiveFailures(0),
		loadbalance.WithSuccessRate(0.8, 20, time.Minute), loadbalance.WithOutlierObserver(ev.add))
	ins := instances(10, 10, 10)
	p := d.Wrap(lb.NewWeightedRoundRobin()).Picker(result(ins...))
	for i := range 19 { // 50 % success, never 2 failures in a row
		var err error
		if i%2 == 0 {
			err = errConnect
		}
		fail(p, ins[1], 1, err)
	}
	if d.Ejected(ins[1].Address()) {
		t.Fatal("ejected before 20 outcomes")
	}
	fail(p, ins[1], 1, nil)
	if !d.Ejected(ins[1].Address()) {
		t.Fatal("not ejected at 50 % success over 20 outcomes")
	}
	if e := ev.all(); len(e) != 1 || e[0].Reason != loadbalance.ReasonSuccessRate {
		t.Fatalf("events %v", e)
	}
	fail(p, ins[2], 100, nil)
	if d.Ejected(ins[2].Address()) {
		t.Fatal("healthy instance ejected")
	}
}

// The wrapper passes feedback on: P2C inside still learns latencies.
func TestOutlierWrapsP2C(t *testing.T) {
	d := loadbalance.NewOutlierDetector()
	b := d.Wrap(loadbalance.NewP2C())
	if b.Name() != "outlier_ejection(p2c_peak_ewma)" {
		t.Errorf("Name() = %q", b.Name())
	}
	ins := instances(10, 10, 10)
	p := b.Picker(result(ins...))
	counts := serve(p, 1000, func(in discovery.Instance) (time.Duration, error) {
		if in == ins[0] {
			return 50 * time.Millisecond, nil
		}
		return time.Millisecond, nil
	})
	if counts[ins[0]] > 10 {
		t.Errorf("slow instance picked %d of 1000 times through the wrapper", counts[ins[0]])
	}
	// Removing an instance forgets it and tells P2C.
	b.(lb.ChangeObserver).OnChange("svc", discovery.Change{Result: result(ins[1:]...), Removed: ins[:1]})
	p = b.Picker(result(ins[1:]...))
	if n := picks(p, 50)[ins[0].Address()]; n != 0 {
		t.Errorf("removed instance picked %d times", n)
	}
}

// errPicking is a balancer whose pickers say why they pick nothing.
type errPicking struct{ err error }

func (errPicking) Name() string                        { return "err" }
func (b errPicking) Picker(discovery.Result) lb.Picker { return errPicker(b) }

type errPicker struct{ err error }

func (errPicker) Next(context.Context) discovery.Instance { return nil }
func (p errPicker) Pick(context.Context) (discovery.Instance, error) {
	return nil, p.err
}

func TestOutlierPassesPickErrors(t *testing.T) {
	want := status.Wrap(status.ErrCircuitOpen, "all circuits open", nil)
	p := loadbalance.NewOutlierDetector().Wrap(errPicking{want}).Picker(result(instances(10)...))
	if _, err := p.(lb.ErrorPicker).Pick(context.Background()); !errors.Is(err, want) {
		t.Errorf("Pick error %v, want %v", err, want)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want loadbalance.Outcome
	}{
		{nil, loadbalance.Success},
		{status.Declared(errors.New("exc")), loadbalance.Success},
		{status.NewBizError(1, "biz"), loadbalance.Success},
		{fmt.Errorf("x: %w", status.NewBizError(1, "biz")), loadbalance.Success},
		{status.Remote(status.InvalidArgument, 0, "bad"), loadbalance.Success},
		{status.Remote(status.Unavailable, 0, "down"), loadbalance.Failure},
		{status.Remote(status.Unknown, 0, "boom"), loadbalance.Failure},
		{status.Wrap(status.ErrTimeout, "t", nil), loadbalance.Failure},
		{status.Wrap(status.ErrOverload, "o", nil), loadbalance.Failure},
		{fmt.Errorf("x: %w", status.Wrap(status.ErrUnsent, "u", nil)), loadbalance.Failure},
		{errors.New("odd"), loadbalance.Failure},
		{status.Wrap(status.ErrCanceled, "c", nil), loadbalance.Ignored},
		{fmt.Errorf("x: %w", context.Canceled), loadbalance.Ignored},
	} {
		if got := loadbalance.Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// countingBalancer counts the pickers it builds.
type countingBalancer struct {
	lb.Balancer
	built int
}

func (b *countingBalancer) Picker(res discovery.Result) lb.Picker {
	b.built++
	return b.Balancer.Picker(res)
}

// The wrapped balancer's picker is rebuilt once per ejection and once per
// return, never per call.
func TestOutlierRebuildsOnEventsOnly(t *testing.T) {
	inner := &countingBalancer{Balancer: lb.NewWeightedRoundRobin()}
	d := loadbalance.NewOutlierDetector(loadbalance.WithEjectionBackoff(50*time.Millisecond, time.Second))
	ins := instances(10, 10, 10)
	p := d.Wrap(inner).Picker(result(ins...))
	picks(p, 1000)
	if inner.built != 1 {
		t.Fatalf("%d pickers built for 1000 picks, want 1", inner.built)
	}
	fail(p, ins[0], 5, errConnect)
	picks(p, 1000)
	if inner.built != 2 {
		t.Fatalf("%d pickers built after an ejection and 1000 picks, want 2", inner.built)
	}
	time.Sleep(80 * time.Millisecond)
	picks(p, 1000)
	if inner.built != 3 || d.Stats().Returns != 1 {
		t.Fatalf("%d pickers built after a return and 1000 picks (stats %+v), want 3", inner.built, d.Stats())
	}
}
