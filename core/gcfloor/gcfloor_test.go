package gcfloor

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
)

func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// residentBytes returns the process's resident memory on Linux, or -1.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return pages * int64(os.Getpagesize())
}

// The tests share one process-wide floor, so they run in order: the
// untuned one first, then the ones that tune the collector.

func TestRaise(t *testing.T) {
	if Tuned() {
		t.Skip("the environment tunes the collector (GOGC or GOMEMLIMIT set)")
	}
	if Size() != 0 {
		t.Skip("the floor was raised earlier in this process (-count > 1)")
	}
	if Raise(0) || Raise(-1) || Raise(Max+1) || Size() != 0 {
		t.Fatalf("Raise(0), Raise(-1) or Raise(Max+1) set a floor of %d", Size())
	}
	const n = 64 << 20
	rss := residentBytes()
	if !Raise(n) {
		t.Fatal("Raise refused with the collector untuned")
	}
	if Size() != n {
		t.Fatalf("Size = %d, want %d", Size(), n)
	}
	if grew := residentBytes() - rss; rss >= 0 && grew > n/4 {
		t.Errorf("resident memory grew by %d bytes for a %d-byte floor: the floor was written to", grew, n)
	}
	runtime.GC()
	if g := heapGoal(); g < 2*n {
		t.Errorf("heap goal after a collection = %d, want at least %d (twice the floor)", g, 2*n)
	}
	if !Raise(n/2) || Size() != n {
		t.Errorf("a smaller Raise changed the floor to %d or failed", Size())
	}
	if !Raise(n+1) || Size() != n+1 {
		t.Errorf("a larger Raise left the floor at %d", Size())
	}
}

func TestTunedByEnvironment(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		t.Setenv("GOGC", "")
		t.Setenv("GOMEMLIMIT", "")
		if Tuned() && gcPercent() == 100 && memoryLimit() == math.MaxInt64 {
			t.Fatal("Tuned() = true with GOGC and GOMEMLIMIT empty and the collector at its defaults")
		}
	})
	for _, kv := range [][2]string{{"GOGC", "200"}, {"GOGC", "100"}, {"GOGC", "off"}, {"GOMEMLIMIT", "1GiB"}} {
		env, val := kv[0], kv[1]
		t.Run(env+"="+val, func(t *testing.T) {
			t.Setenv(env, val)
			before := Size()
			if !Tuned() {
				t.Fatalf("Tuned() = false with %s=%s", env, val)
			}
			if Raise(before + 1<<20) {
				t.Fatal("Raise succeeded while the program tunes the collector")
			}
			if Size() != before {
				t.Fatalf("Size = %d, want it unchanged at %d", Size(), before)
			}
		})
	}
}

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func memoryLimit() int64 { return debug.SetMemoryLimit(-1) }

func TestTunedByGCPercent(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set")
	}
	prev := debug.SetGCPercent(400)
	defer debug.SetGCPercent(prev)
	before := Size()
	if !Tuned() {
		t.Fatal("Tuned() = false after debug.SetGCPercent(400)")
	}
	if Raise(before+1<<20) || Size() != before {
		t.Fatal("Raise succeeded after debug.SetGCPercent(400)")
	}
	debug.SetGCPercent(100)
	if memoryLimit() == math.MaxInt64 && Tuned() {
		t.Fatal("Tuned() = true with the percentage back at 100 and no limit")
	}
}

func TestTunedByMemoryLimit(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOMEMLIMIT is set")
	}
	prev := debug.SetMemoryLimit(1 << 40)
	defer debug.SetMemoryLimit(prev)
	if !Tuned() {
		t.Fatal("Tuned() = false with a memory limit set")
	}
	debug.SetMemoryLimit(math.MaxInt64)
	if os.Getenv("GOGC") == "" && gcPercent() == 100 && Tuned() {
		t.Fatal("Tuned() = true with no memory limit, the percentage at 100 and neither variable set")
	}
}
