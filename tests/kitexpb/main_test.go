package kitexpb_test

import (
	"testing"

	"github.com/cloudwego/kitex/pkg/klog"

	"github.com/skiffrpc/skiff/core/leaktest"
)

func TestMain(m *testing.M) {
	if benchPeer() {
		return
	}
	klog.SetLevel(klog.LevelFatal)
	leaktest.VerifyTestMain(m, kitexIgnores...)
}

// kitexIgnores are Kitex's process-wide background goroutines, started by
// the first client and kept for the life of the process by design: the
// shared RPC-timeout worker pool and its ticker, the shared ticker, and the
// watcher of the global load-balancer cache. Anything else left running
// fails the tests.
var kitexIgnores = []leaktest.Option{
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/client.(*timeoutPool).createTicker.func1"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/client.(*timeoutPool).createWorker.func1"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/utils.(*SharedTicker).Tick"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/loadbalance/lbcache.(*BalancerFactory).watcher"),
}
