package ttheader_test

import (
	"testing"

	"github.com/skiffrpc/skiff/core/streamtest"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// TestStreamtest runs core's conformance kit for stream transports on
// ttstream, over both engines.
func TestStreamtest(t *testing.T) {
	streamtest.Run(t, ttheader.TTStream, streamtest.Params{})
}
