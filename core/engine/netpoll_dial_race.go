//go:build !windows && race

package engine

// dialAttempts is how many times npEngine.Dial tries a connection attempt
// that Netpoll reports as reset. Built with the race detector, Netpoll
// finds a descriptor's operator by its number instead of by the pointer
// in the epoll event, so an event still queued for a connection that just
// closed can reach a dial that reuses its descriptor number, which then
// fails as "closed by peer" although the listener is up. Tests saw up to
// four such failures in a row on a loaded machine.
const dialAttempts = 6
