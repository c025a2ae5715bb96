package thriftcodec_test

import (
	"testing"

	"github.com/skiffrpc/skiff/core/leaktest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }
