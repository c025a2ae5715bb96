package consul_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	consul "github.com/skiffrpc/skiff/registry-consul"
)

// Environment of the child server process (this test binary run again).
const (
	childEnv     = "SKIFF_CONSUL_TEST_CHILD" // the server's name
	childAgent   = "SKIFF_CONSUL_TEST_AGENT" // the agent's HTTP address
	childAddr    = "SKIFF_CONSUL_TEST_ADDR"  // the listen address
	childTTL     = "SKIFF_CONSUL_TEST_TTL"   // the check TTL
	childService = "SKIFF_CONSUL_TEST_SERVICE"
)

// childLifetime bounds a child process even if its test is gone.
const childLifetime = 2 * time.Minute

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		if err := childServer(name); err != nil {
			fmt.Fprintf(os.Stderr, "consul test child %s: %v\n", name, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	leaktest.VerifyTestMain(m)
}

var quiet = slog.New(slog.DiscardHandler)

// childServer serves echo under name, registered in Consul, until SIGTERM
// (then it stops gracefully) or SIGKILL.
func childServer(name string) error {
	time.AfterFunc(childLifetime, func() { os.Exit(3) })
	ttl, err := time.ParseDuration(os.Getenv(childTTL))
	if err != nil {
		return err
	}
	reg, err := consul.NewRegistry(consul.WithAddress(os.Getenv(childAgent)), consul.WithTTL(ttl), consul.WithLogger(quiet))
	if err != nil {
		return err
	}
	defer reg.Close()
	svr := server.New(server.WithAddress(os.Getenv(childAddr)), server.WithLogger(quiet),
		server.WithRegistry(reg, &registry.Info{ServiceName: os.Getenv(childService)}))
	if err := svr.RegisterService(echo.ServiceInfo(), &named{name: name}); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := svr.Start(); err != nil {
		return err
	}
	if err := svr.RegisterErr(); err != nil {
		return err
	}
	fmt.Printf("addr %s\n", svr.Addr())
	<-ctx.Done()
	return svr.Stop()
}
