package conn

import (
	"sync/atomic"
	"time"
)

// Sparse tells whether events (requests, messages, read wake-ups) come far
// apart, for announcing short waits to an engine ([ShortWaiter]) while a
// process is nearly idle: on Netpoll with one P, a goroutine the poller
// wakes can otherwise wait for the poller's next event, and with sparse
// events nothing else comes soon. It keeps a moving average of the gaps
// between the events noted (over about the last 8; a gap counts as at most
// a millisecond, so that one idle spell does not count for long, and as 0
// when a concurrent note or the wall clock made it negative). Concurrent
// notes may lose one another's gap: the average stays close enough. The
// zero value is ready to use.
type Sparse struct {
	last, avg atomic.Int64 // unix ns of the last event; average gap in ns
}

// Note records an event at now and reports whether events come gap or
// more apart on average.
func (s *Sparse) Note(now time.Time, gap time.Duration) bool {
	n := now.UnixNano()
	g := min(max(n-s.last.Swap(n), 0), int64(time.Millisecond))
	avg := s.avg.Load()
	avg += (g - avg) / 8
	s.avg.Store(avg)
	return avg >= int64(gap)
}
