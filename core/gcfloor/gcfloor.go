package gcfloor

import (
	"math"
	"os"
	"runtime/metrics"
	"sync"
)

// Default is the floor Skiff's servers and clients ask for unless told
// otherwise: 16 MiB, about what a Kitex process holds in span caches it
// allocates at start-up. Pinned, 16 KB echo over TTHeader at 100
// concurrent calls, it took a Skiff server from about 110 collections a
// second to about 10 and its CPU per call from 23 to 15 µs; at 1 KB the
// multiplexed default gained about a fifth of its QPS.
const Default = 16 << 20

// Max is the largest floor Raise accepts: 1 GiB.
const Max = 1 << 30

var floor struct {
	mu  sync.Mutex
	buf []byte
}

// Raise makes the floor at least n bytes, and reports whether the floor
// is now at least n bytes. It does nothing and reports false when n <= 0,
// n > [Max] or the program tunes the collector itself ([Tuned]). A larger
// floor replaces a smaller one, whose memory the next collection frees.
func Raise(n int) bool {
	if n <= 0 || n > Max || Tuned() {
		return false
	}
	floor.mu.Lock()
	defer floor.mu.Unlock()
	if len(floor.buf) < n {
		// A byte slice holds no pointers: the collector marks it
		// without scanning it. It is never written to.
		floor.buf = make([]byte, n)
	}
	return true
}

// Size returns the floor in bytes: 0 until Raise first succeeds.
func Size() int {
	floor.mu.Lock()
	defer floor.mu.Unlock()
	return len(floor.buf)
}

// Tuned reports whether the program tunes the garbage collector itself:
// GOGC or GOMEMLIMIT is set to a non-empty value in its environment (even
// GOGC=100, which is how to turn the floor off for the whole process), or
// the collector's percentage is not 100 (debug.SetGCPercent), or a memory
// limit is set (debug.SetMemoryLimit). Raise does nothing then, so the
// program's settings act as it expects: a floor would multiply with a
// higher percentage and count towards a memory limit.
func Tuned() bool {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return true
	}
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() != 100 {
		return true
	}
	return s[1].Value.Kind() == metrics.KindUint64 && s[1].Value.Uint64() != math.MaxInt64
}
