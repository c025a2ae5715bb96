//go:build race

package skiffotel

// raceEnabled reports a build with the race detector.
const raceEnabled = true
