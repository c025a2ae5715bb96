package ttstream_test

import "github.com/skiffrpc/skiff/core/leaktest"

// kitexIgnores are Kitex's process-wide background goroutines (see
// tests/kitex): the RPC-timeout worker pool, the shared ticker, the
// load-balancer cache watcher, and the gRPC client's process-wide stream
// preallocation goroutine.
var kitexIgnores = []leaktest.Option{
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/client.(*timeoutPool).createTicker.func1"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/client.(*timeoutPool).createWorker.func1"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/utils.(*SharedTicker).Tick"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/loadbalance/lbcache.(*BalancerFactory).watcher"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/remote/trans/nphttp2/grpc.preallocateForStream"),
}
