package loadbalance_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	lb "github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/loadbalance"
)

// Issue 14, Show 2: power of two choices with peak-EWMA latency avoids a
// slow instance. Three servers, one of which answers after 200 ms (far
// above what a loaded machine adds to a loopback call); 8 callers make
// 600 calls. Round robin sends a third of them to the slow one (checked
// too, on 150 calls, so the test can tell the difference); P2C sends it
// almost none.
func TestP2CAvoidsSlowInstance(t *testing.T) {
	for _, c := range []struct {
		name     string
		balancer lb.Balancer
		total    int
		check    func(t *testing.T, share float64)
	}{
		{"round_robin", lb.NewWeightedRoundRobin(), 150, func(t *testing.T, share float64) {
			if share < 0.25 {
				t.Errorf("round robin sent %.1f %% of the calls to the slow instance, want about 33 %%", 100*share)
			}
		}},
		{"p2c_peak_ewma", loadbalance.NewP2C(), 600, func(t *testing.T, share float64) {
			if share > 0.05 {
				t.Errorf("P2C sent %.1f %% of the calls to the slow instance, want under 5 %%", 100*share)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ins := startInstances(t, 3)
			slow := ins[1]
			slow.delay.Store(int64(200 * time.Millisecond))
			ec := newClient(t, ins, client.WithLoadBalancer(c.balancer))
			total := c.total
			start := time.Now()
			errs, lat := timedLoad(ec, 8, total)
			if len(errs) > 0 {
				t.Fatalf("%d calls failed, first: %v", len(errs), errs[0])
			}
			share := float64(slow.hits.Load()) / float64(total)
			t.Logf("%s: slow instance served %d of %d calls (%.1f %%); hits %d/%d/%d; %v in all, p50 %v, p90 %v, p99 %v",
				c.name, slow.hits.Load(), total, 100*share, ins[0].hits.Load(), ins[1].hits.Load(), ins[2].hits.Load(),
				time.Since(start).Round(time.Millisecond), percentile(lat, 50).Round(10*time.Microsecond),
				percentile(lat, 90).Round(10*time.Microsecond), percentile(lat, 99).Round(10*time.Microsecond))
			c.check(t, share)
		})
	}
}

// Issue 14, Show 2: ejection and return. An instance whose handler fails
// is ejected after 5 failures in a row, gets no calls while ejected, and
// is back after its backoff once healed; a stopped instance is ejected
// after 5 failed attempts. Declared exceptions and business errors do not
// count against an instance.
func TestOutlierEjectionAndReturn(t *testing.T) {
	ins := startInstances(t, 4)
	var (
		mu     sync.Mutex
		events []loadbalance.OutlierEvent
	)
	const backoff = time.Second
	d := loadbalance.NewOutlierDetector(
		loadbalance.WithEjectionBackoff(backoff, 10*time.Second),
		loadbalance.WithMaxEjectionPercent(50),
		loadbalance.WithOutlierObserver(func(ev loadbalance.OutlierEvent) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		}))
	var at attempts
	ec := newClient(t, ins, d.Option(), at.middleware())
	ctx := context.Background()

	// Declared exceptions and business errors are answers, not failures.
	for range 40 {
		if _, err := ec.Fail(ctx, 7); !errors.As(err, new(*echo.EchoError)) {
			t.Fatalf("Fail: %v, want the declared exception", err)
		}
		if _, err := ec.Echo(ctx, &echo.EchoRequest{Message: "biz"}); !isBiz(err) {
			t.Fatalf("Echo(biz): %v, want a business error", err)
		}
	}
	if s := d.Stats(); s.Ejections != 0 {
		t.Fatalf("declared exceptions or business errors ejected an instance: %+v", s)
	}

	// A failing instance: round robin brings it every 4th call; its 5th
	// failure in a row ejects it.
	sick := ins[2]
	sick.fail.Store(true)
	base := sick.hits.Load()
	failed := 0
	for i := 0; i < 100 && !d.Ejected(sick.addr); i++ {
		if _, err := ec.Echo(ctx, &echo.EchoRequest{Message: "hi"}); err != nil {
			failed++
		}
	}
	ejectedAt := time.Now()
	if !d.Ejected(sick.addr) {
		t.Fatalf("failing instance not ejected; stats %+v", d.Stats())
	}
	if n := sick.hits.Load() - base; n != 5 || failed != 5 {
		t.Fatalf("ejected after %d hits and %d failed calls, want 5 and 5", n, failed)
	}
	base = sick.hits.Load()
	if errs := load(ec, 4, 200); len(errs) > 0 {
		t.Fatalf("%d calls failed while the sick instance was ejected: %v", len(errs), errs[0])
	}
	if n := sick.hits.Load() - base; n != 0 && time.Since(ejectedAt) < backoff {
		t.Fatalf("ejected instance served %d calls", n)
	}

	// Healed, it is back after the backoff.
	sick.fail.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for d.Ejected(sick.addr) || sick.hits.Load() == base {
		if time.Now().After(deadline) {
			t.Fatalf("instance not back 10 s after its ejection; stats %+v", d.Stats())
		}
		if _, err := ec.Echo(ctx, &echo.EchoRequest{Message: "hi"}); err != nil {
			t.Fatalf("call failed: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if back := time.Since(ejectedAt); back < backoff {
		t.Fatalf("instance back after %v, before its %v backoff", back, backoff)
	}
	if s := d.Stats(); s.Ejections != 1 || s.Returns != 1 || s.Ejected != 0 {
		t.Fatalf("stats after return %+v", s)
	}

	// A stopped instance: its refused connections eject it after 5
	// attempts, and no attempt goes there afterwards. No call fails: core
	// balances a call whose connection is refused once more.
	dead := ins[0]
	if err := dead.svr.Stop(); err != nil {
		t.Fatal(err)
	}
	before := at.get(dead.addr)
	failed = 0
	for i := 0; i < 100 && !d.Ejected(dead.addr); i++ {
		if _, err := ec.Echo(ctx, &echo.EchoRequest{Message: "hi"}); err != nil {
			failed++
		}
	}
	if !d.Ejected(dead.addr) || failed != 0 || at.get(dead.addr)-before != 5 {
		t.Fatalf("stopped instance: ejected %v after %d failed calls and %d attempts, want after 0 and 5",
			d.Ejected(dead.addr), failed, at.get(dead.addr)-before)
	}
	before = at.get(dead.addr)
	if errs := load(ec, 4, 200); len(errs) > 0 {
		t.Fatalf("%d calls failed with the stopped instance ejected: %v", len(errs), errs[0])
	}
	if n := at.get(dead.addr) - before; n != 0 {
		t.Fatalf("%d attempts went to the ejected stopped instance", n)
	}

	mu.Lock()
	defer mu.Unlock()
	var kinds []string
	for _, ev := range events {
		kinds = append(kinds, fmt.Sprintf("%v %s", ev.Kind, ev.Address))
	}
	want := []string{"ejected " + sick.addr, "returned " + sick.addr, "ejected " + dead.addr}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
}

// Consistent hashing keeps a key on one instance over the real stack: the
// key rides on the call as a typed call option.
func TestConsistentHashKeyOption(t *testing.T) {
	ins := startInstances(t, 3)
	ec := newClient(t, ins, client.WithLoadBalancer(loadbalance.NewConsistentHash()))
	ctx := context.Background()
	served := func(key string) *instance {
		var home *instance
		for range 10 {
			before := make([]int64, len(ins))
			for i, in := range ins {
				before[i] = in.hits.Load()
			}
			if _, err := ec.Echo(ctx, &echo.EchoRequest{Message: key}, loadbalance.WithHashKey(key)); err != nil {
				t.Fatal(err)
			}
			for i, in := range ins {
				if in.hits.Load() != before[i] {
					if home != nil && home != in {
						t.Fatalf("key %q went to %s, then to %s", key, home.addr, in.addr)
					}
					home = in
				}
			}
		}
		return home
	}
	homes := map[*instance]bool{}
	for i := range 30 {
		homes[served(fmt.Sprintf("user-%d", i))] = true
	}
	if len(homes) != len(ins) {
		t.Errorf("30 keys reached %d of %d instances", len(homes), len(ins))
	}
}
