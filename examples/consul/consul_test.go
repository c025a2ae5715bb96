package consul_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/examples/consul"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/registry-consul/consultest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// The example against a real dev agent: both servers answer the client
// that found them through Consul.
func TestExample(t *testing.T) {
	agent := consultest.Start(t)
	quiet := slog.New(slog.DiscardHandler)
	for _, name := range []string{"server-a", "server-b"} {
		svr, err := consul.StartServer(agent.HTTPAddr, name, quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svr.Stop() })
	}
	cli, err := consul.NewClient(agent.HTTPAddr, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	seen := map[string]int{}
	for range 10 {
		resp, err := cli.Echo(context.Background(), &echo.EchoRequest{Message: "hello"})
		if err != nil {
			t.Fatal(err)
		}
		seen[resp.Message]++
	}
	if seen["server-a"] == 0 || seen["server-b"] == 0 {
		t.Fatalf("answers by server: %v; want both", seen)
	}
}
