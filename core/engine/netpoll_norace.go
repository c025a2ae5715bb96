//go:build (linux || darwin || freebsd) && (amd64 || arm64 || loong64) && !race

package engine

import "github.com/cloudwego/netpoll"

// dialAttempts is how many times npEngine.Dial tries a connection attempt
// that Netpoll reports as reset (see netpoll_race.go).
const dialAttempts = 2

// highRelocation is false: descriptors keep their numbers (see
// netpoll_race.go).
const highRelocation = false

// highBase and highSpan are 0: no descriptor is moved.
const highBase, highSpan = 0, 0

// relocateFD returns fd: without the race detector, Netpoll finds a
// descriptor's operator by the pointer in its epoll event, and recycles
// operators only after the events of one wait are handled, so a stale
// event cannot reach a descriptor that reuses the number.
func relocateFD(fd int) int { return fd }

// newDialedConn wraps a connection Dial made (see netpoll_race.go for what
// race builds add).
func newDialedConn(c netpoll.Connection) Conn {
	nc := &npConn{Connection: c}
	nc.guardWrites()
	return nc
}

// quarantineFor is 0: closing a connection lets its number go at once.
const quarantineFor = 0
