package retry

import (
	"testing"
	"time"
)

func TestBudgetTokens(t *testing.T) {
	now := time.Now()
	s := newMethodState(now)
	b := normalize(Policy{Budget: Budget{Ratio: 0.1, Burst: 3}}).Budget
	s.tokens.Store(0)
	for range 10 {
		s.deposit(&b)
	}
	if !s.withdraw(&b, now) {
		t.Fatal("10 calls at 10 % did not pay for a retry")
	}
	if s.withdraw(&b, now) {
		t.Fatal("a second retry was paid for")
	}
	// The burst caps what is saved.
	for range 1000 {
		s.deposit(&b)
	}
	n := 0
	for s.withdraw(&b, now) {
		n++
	}
	if n != 3 {
		t.Fatalf("%d retries after a long quiet run, want the burst of 3", n)
	}
	// The minimum rate refills over time.
	b.MinPerSecond = 2
	if !s.withdraw(&b, now.Add(600*time.Millisecond)) || s.withdraw(&b, now.Add(600*time.Millisecond)) {
		t.Fatal("0.6 s at 2/s should pay for exactly one retry")
	}
	off := Budget{Off: true}
	if !s.withdraw(&off, now) {
		t.Fatal("a budget that is off refused")
	}
}

func TestLatencyQuantile(t *testing.T) {
	var l latency
	now := time.Now()
	l.rotated.Store(now.UnixNano())
	if _, ok := l.quantile(0.5); ok {
		t.Fatal("a quantile from no samples")
	}
	for i := range 100 {
		d := 10 * time.Millisecond
		if i >= 90 {
			d = 300 * time.Millisecond
		}
		l.record(d, now)
	}
	p50, _ := l.quantile(0.5)
	p95, _ := l.quantile(0.95)
	if p50 < 10*time.Millisecond || p50 > 12*time.Millisecond {
		t.Fatalf("p50 %v, want about 10 ms", p50)
	}
	if p95 < 300*time.Millisecond || p95 > 360*time.Millisecond {
		t.Fatalf("p95 %v, want about 300 ms", p95)
	}
	// Two periods later the old samples are gone.
	l.record(time.Millisecond, now.Add(latencyPeriod+time.Second))
	l.record(time.Millisecond, now.Add(2*latencyPeriod+2*time.Second))
	if _, ok := l.quantile(0.5); ok {
		t.Fatal("old samples kept")
	}
	for i := range latBuckets {
		if i > 0 && latUpper(i) <= latUpper(i-1) {
			t.Fatalf("bucket %d upper %v not above %v", i, latUpper(i), latUpper(i-1))
		}
	}
	for _, d := range []time.Duration{0, 3 * time.Microsecond, 100 * time.Microsecond, time.Millisecond, 7 * time.Second} {
		if i := latBucket(d); latUpper(i) < d {
			t.Fatalf("%v in bucket %d below its upper edge %v", d, i, latUpper(i))
		}
	}
}

func TestCircuit(t *testing.T) {
	cfg := normalize(Policy{Circuit: &Circuit{}}).Circuit
	var c circuitState
	now := time.Now()
	c.start = now.UnixNano()
	for i := range 9 {
		c.record(true, now.Add(time.Duration(i)*time.Millisecond), cfg)
	}
	if c.open(now, cfg) {
		t.Fatal("open before MinSamples")
	}
	c.record(true, now, cfg)
	if !c.open(now, cfg) {
		t.Fatal("closed at 100 % failures")
	}
	for range 200 {
		c.record(false, now, cfg)
	}
	if c.open(now, cfg) {
		t.Fatal("open at 5 % failures")
	}
	later := now.Add(cfg.Window + time.Second)
	if c.open(later, cfg) {
		t.Fatal("open after the window")
	}
}

func TestBackoffs(t *testing.T) {
	if d := FixedBackoff(5 * time.Millisecond).Delay(3); d != 5*time.Millisecond {
		t.Fatal(d)
	}
	rb := RandomBackoff(20*time.Millisecond, 10*time.Millisecond)
	for range 100 {
		if d := rb.Delay(1); d < 10*time.Millisecond || d >= 20*time.Millisecond {
			t.Fatal(d)
		}
	}
	e := ExponentialBackoff(10*time.Millisecond, 50*time.Millisecond, 0)
	for n, want := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 3: 40 * time.Millisecond, 4: 50 * time.Millisecond, 9: 50 * time.Millisecond} {
		if d := e.Delay(n); d != want {
			t.Fatalf("retry %d: %v, want %v", n, d, want)
		}
	}
	j := ExponentialBackoff(10*time.Millisecond, 0, 1)
	for range 100 {
		if d := j.Delay(3); d < 0 || d > 40*time.Millisecond {
			t.Fatal(d)
		}
	}
}

func TestNormalize(t *testing.T) {
	p := normalize(Policy{MaxAttempts: 9, BackupPercentile: 2})
	if p.MaxAttempts != MaxAttempts || p.BackupPercentile != 1 || !p.backup || p.BackupDelay != DefaultBackupDelay || p.Budget != DefaultBudget {
		t.Fatalf("%+v", p)
	}
	if p := normalize(Policy{}); p.MaxAttempts != DefaultAttempts || p.backup {
		t.Fatalf("%+v", p)
	}
	// A budget that sets one field keeps the defaults of the others.
	if b := normalize(Policy{Budget: Budget{Burst: 100}}).Budget; b != (Budget{Ratio: 0.1, MinPerSecond: 2, Burst: 100}) {
		t.Fatalf("Budget{Burst: 100} became %+v", b)
	}
	if b := normalize(Policy{Budget: Budget{Ratio: -1, MinPerSecond: 5}}).Budget; b != (Budget{MinPerSecond: 5, Burst: 10}) {
		t.Fatalf("Budget{Ratio: -1, MinPerSecond: 5} became %+v", b)
	}
}
