package thrifttest_test

import (
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/skiffrpc/skiff/core/leaktest"
)

func TestMain(m *testing.M) {
	// An Apache TSimpleServer's Stop waits for its clients to go away; with
	// a bound it closes the stragglers, so a leak fails instead of hanging.
	thrift.ServerStopTimeout = 5 * time.Second
	leaktest.VerifyTestMain(m)
}
