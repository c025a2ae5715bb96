//go:build !race

package ttstream_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
