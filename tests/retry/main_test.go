package retry_test

import (
	"log/slog"
	"testing"

	"github.com/skiffrpc/skiff/core/leaktest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)
