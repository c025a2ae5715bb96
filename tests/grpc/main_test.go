package grpcinterop_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cloudwego/kitex/pkg/klog"

	"github.com/skiffrpc/skiff/core/gcfloor"
	"github.com/skiffrpc/skiff/core/leaktest"
)

// tmpDir holds the interop client binary and the test certificate; TestMain
// removes it.
var tmpDir string

// interopClient is the path of grpc-go's interop client binary, built by
// TestMain; "" when the build failed (buildErr says why).
var (
	interopClient string
	buildErr      error
)

// ignores are the peers' process-wide background goroutines, started once
// and kept for the life of the process by design: Kitex's shared
// RPC-timeout worker pool and its ticker, its shared ticker, the watcher of
// its global load-balancer cache, and its gRPC client's stream-field
// preallocator (nphttp2 fills a 256-slot channel forever). grpc-go leaves
// none. Anything else left running fails the tests.
var ignores = []leaktest.Option{
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/client.(*timeoutPool).createTicker.func1"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/client.(*timeoutPool).createWorker.func1"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/utils.(*SharedTicker).Tick"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/loadbalance/lbcache.(*BalancerFactory).watcher"),
	leaktest.IgnoreAnyFunction("github.com/cloudwego/kitex/pkg/remote/trans/nphttp2/grpc.preallocateForStream"),
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "skiff-grpc-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpDir = dir
	klog.SetLevel(klog.LevelFatal)
	// The heap floor is raised before any test, so that the live-heap
	// bounds of the flow-control tests do not count it as growth when a
	// subtest runs alone and makes the first Skiff client.
	gcfloor.Raise(gcfloor.Default)
	flag.Parse()
	if !testing.Short() {
		interopClient, buildErr = buildInteropClient(dir)
	}
	// leaktest.VerifyTestMain exits; the leak check runs by hand so the
	// temporary directory is removed first.
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := leaktest.Find(ignores...); err != nil {
			fmt.Fprintf(os.Stderr, "leaktest: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// buildInteropClient builds google.golang.org/grpc/interop/client (the
// version tests/go.mod requires, v1.85.0) into dir.
func buildInteropClient(dir string) (string, error) {
	bin := filepath.Join(dir, "interop_client")
	cmd := exec.Command("go", "build", "-o", bin, "google.golang.org/grpc/interop/client")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build interop client: %v\n%s", err, out)
	}
	return bin, nil
}
