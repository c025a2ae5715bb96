package transport_test

import (
	"runtime"
	"testing"

	"github.com/skiffrpc/skiff/core/transport"
)

// deep uses about n KiB of stack.
//
//go:noinline
func deep(n int) byte {
	var b [1024]byte
	b[n%1024] = byte(n)
	if n == 0 {
		return b[0]
	}
	return deep(n-1) + b[n%1024]
}

// stackKept runs, through run, a goroutine that grows its stack past 24
// KiB, waits through two collections, and makes a call of the same depth
// again; it reports whether that call found the stack in place (the
// stack memory in use did not grow).
func stackKept(t *testing.T, run func(func())) bool {
	grown, parked, resume, done := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan bool)
	go run(func() {
		deep(24) // grows the stack
		close(grown)
		close(parked)
		<-resume
		// A goroutine whose stack was shrunk grows it again here.
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		deep(24)
		runtime.ReadMemStats(&after)
		done <- after.StackInuse <= before.StackInuse
	})
	<-grown
	<-parked
	runtime.GC()
	runtime.GC()
	close(resume)
	return <-done
}

// TestRunKeepingStack: a goroutine waiting inside RunKeepingStack keeps
// its stack through collections. A plain goroutine, for comparison, has
// it shrunk and grows it again; that is logged, not required, since it is
// the runtime's choice.
func TestRunKeepingStack(t *testing.T) {
	kept := 0
	for range 5 {
		if stackKept(t, transport.RunKeepingStack) {
			kept++
		}
	}
	if kept < 4 {
		t.Errorf("kept its stack in %d of 5 runs inside RunKeepingStack", kept)
	}
	plain := 0
	for range 5 {
		if stackKept(t, func(f func()) { f() }) {
			plain++
		}
	}
	if plain > 1 {
		t.Logf("a plain goroutine kept its stack in %d of 5 runs (the runtime did not shrink it)", plain)
	}
}
