package h2transport_test

import (
	"testing"

	"github.com/skiffrpc/skiff/core/streamtest"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// TestStreamtest runs core's conformance kit for stream transports on
// HTTP/2, over both engines.
func TestStreamtest(t *testing.T) {
	streamtest.Run(t, h2transport.New(), streamtest.Params{})
}
