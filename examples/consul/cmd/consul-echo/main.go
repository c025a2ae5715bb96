// Command consul-echo runs the Consul discovery example against a local
// Consul agent: two echo servers register, and a client finds them through
// Consul and calls each in turn. Start a dev agent first:
//
//	consul agent -dev -bind 127.0.0.1 -client 127.0.0.1
//
// then run it with no flags. -consul sets the agent's HTTP address.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/skiffrpc/skiff/examples/consul"
	"github.com/skiffrpc/skiff/examples/echo"
)

func main() {
	agent := flag.String("consul", "127.0.0.1:8500", "Consul agent HTTP address")
	calls := flag.Int("calls", 6, "calls the client makes")
	flag.Parse()
	if err := run(*agent, *calls); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(agent string, calls int) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, name := range []string{"server-a", "server-b"} {
		svr, err := consul.StartServer(agent, name, logger)
		if err != nil {
			return fmt.Errorf("%s: %w (is a Consul agent running at %s?)", name, err, agent)
		}
		defer svr.Stop()
		fmt.Printf("%s serves at %s, registered in Consul\n", name, svr.Addr())
	}
	cli, err := consul.NewClient(agent, logger)
	if err != nil {
		return err
	}
	defer cli.Close()
	for i := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := cli.Echo(ctx, &echo.EchoRequest{Message: "hello"})
		cancel()
		if err != nil {
			return err
		}
		fmt.Printf("call %d answered by %s\n", i+1, resp.Message)
	}
	return nil
}
