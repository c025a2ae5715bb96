//go:build !windows && !race

package engine

// dialAttempts is how many times npEngine.Dial tries a connection attempt
// that Netpoll reports as reset (see netpoll_dial_race.go).
const dialAttempts = 2
