//go:build race

package soak_test

// raceEnabled: the race detector's own memory grows with every goroutine
// the load starts, so RSS drift means little under it.
const raceEnabled = true
