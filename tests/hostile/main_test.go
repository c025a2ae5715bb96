package hostile_test

import (
	"os"
	"testing"

	"github.com/skiffrpc/skiff/core/leaktest"
)

func TestMain(m *testing.M) {
	if eng := os.Getenv(childEnv); eng != "" {
		// Re-executed by TestHostileClients: serve until stdin closes.
		os.Exit(runChild(eng))
	}
	leaktest.VerifyTestMain(m)
}
