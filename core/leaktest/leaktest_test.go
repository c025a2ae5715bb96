package leaktest

import (
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { VerifyTestMain(m) }

// shortWait makes a check that finds a leak give up quickly.
func shortWait(c *config) { c.wait = 50 * time.Millisecond }

//go:noinline
func blockedLeaker(stop <-chan struct{}) { <-stop }

func TestFindReportsAndForgets(t *testing.T) {
	if err := Find(); err != nil {
		t.Fatalf("before: %v", err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); blockedLeaker(stop) }()
	err := Find(shortWait)
	if err == nil || !strings.Contains(err.Error(), "found unexpected goroutines (1):") || !strings.Contains(err.Error(), "leaktest.blockedLeaker") {
		t.Fatalf("Find with a blocked goroutine: %v", err)
	}
	if err := Find(shortWait, IgnoreAnyFunction("github.com/skiffrpc/skiff/core/leaktest.blockedLeaker")); err != nil {
		t.Errorf("IgnoreAnyFunction: %v", err)
	}
	if err := Find(shortWait, IgnoreTopFunction("github.com/skiffrpc/skiff/core/leaktest.blockedLeaker")); err != nil {
		t.Errorf("IgnoreTopFunction of the innermost frame: %v", err)
	}
	if err := Find(shortWait, IgnoreTopFunction("github.com/skiffrpc/skiff/core/leaktest.TestFindReportsAndForgets.func1")); err == nil {
		t.Errorf("IgnoreTopFunction ignored a goroutine whose innermost frame is another function")
	}
	if err := Find(shortWait, IgnoreCurrent()); err != nil {
		t.Errorf("IgnoreCurrent: %v", err)
	}
	close(stop)
	<-done
	// A goroutine on its way out is waited for, not reported.
	go func() { time.Sleep(20 * time.Millisecond) }()
	if err := Find(); err != nil {
		t.Errorf("after the goroutine ended: %v", err)
	}
}

func TestVerifyNoneFailsTheTest(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	go blockedLeaker(stop)
	ft := &fakeTB{TB: t}
	VerifyNone(ft, shortWait)
	if !ft.failed {
		t.Error("VerifyNone passed with a leaked goroutine")
	}
}

// fakeTB records a failure instead of failing the real test.
type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Error(args ...any) { f.failed = true }

func TestParse(t *testing.T) {
	g, ok := parse("goroutine 7 [chan receive, 2 minutes]:\nexample.com/p.(*T).f(0xc000012345, 0x1)\n\t/src/p/f.go:12 +0x1d\nexample.com/p.g(...)\n\t/src/p/g.go:3\ncreated by example.com/p.h in goroutine 1\n\t/src/p/h.go:30 +0x55")
	if !ok || g.id != 7 || g.state != "chan receive" || strings.Join(g.funcs, " ") != "example.com/p.(*T).f example.com/p.g" {
		t.Errorf("parse: %v %+v", ok, g)
	}
	if _, ok := parse("not a goroutine"); ok {
		t.Error("parsed a block without a goroutine header")
	}
}
