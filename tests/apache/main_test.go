package apache_test

import (
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// An Apache TSimpleServer's Stop waits for every connected client to go
	// away; with a bound it closes the stragglers instead, so a peer that
	// keeps a connection open fails the leak check rather than hanging.
	thrift.ServerStopTimeout = 5 * time.Second
	goleak.VerifyTestMain(m,
		// Netpoll's pollers start on first use and live for the process:
		// they belong to the engine, not to any server or client.
		goleak.IgnoreAnyFunction("github.com/cloudwego/netpoll.(*defaultPoll).Wait"),
	)
}
