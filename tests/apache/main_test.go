package apache_test

import (
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/skiffrpc/skiff/core/leaktest"
)

func TestMain(m *testing.M) {
	// An Apache TSimpleServer's Stop waits for every connected client to go
	// away; with a bound it closes the stragglers instead, so a peer that
	// keeps a connection open fails the leak check rather than hanging.
	thrift.ServerStopTimeout = 5 * time.Second
	// Netpoll's pollers start on first use and live for the process:
	// they belong to the engine, not to any server or client (leaktest
	// ignores them).
	leaktest.VerifyTestMain(m)
}
