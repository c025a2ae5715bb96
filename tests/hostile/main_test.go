package hostile_test

import (
	"os"
	"testing"

	"github.com/skiffrpc/skiff/core/leaktest"
)

func TestMain(m *testing.M) {
	if code, ok := childMain(); ok {
		// Re-executed by TestHostileClients: served until stdin closed.
		os.Exit(code)
	}
	leaktest.VerifyTestMain(m)
}
