//go:build race

package hostile_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = true
