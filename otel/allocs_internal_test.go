package skiffotel

import (
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestSDKAllocs holds the allocations of one call, client and server
// together, with the SDK. The ceilings are what the SDK itself needs (see
// README, Overhead) plus the benchmark's two call infos; a change that adds
// one fails here. The race detector adds three to a sampled call.
func TestSDKAllocs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sampler   sdktrace.Sampler
		noTracing bool
		max, race float64
	}{
		{"sampled", sdktrace.AlwaysSample(), false, 19, 22},
		{"unsampled", sdktrace.NeverSample(), false, 14, 14},
		{"metrics-only", sdktrace.AlwaysSample(), true, 4, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call := sdkCall(t, tc.sampler, tc.noTracing)
			call() // fill the caches
			max := tc.max
			if raceEnabled {
				max = tc.race
			}
			if n := testing.AllocsPerRun(200, call); n > max {
				t.Errorf("%v allocations per call, want at most %v", n, max)
			}
		})
	}
}
