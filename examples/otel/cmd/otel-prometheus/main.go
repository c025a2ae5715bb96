// Command otel-prometheus runs the otel example with the OpenTelemetry
// Prometheus exporter: it makes some calls and prints the RPC series of a
// scrape. With -listen (a loopback address such as 127.0.0.1:9464) it
// instead serves /metrics there and keeps calling once a second until
// interrupted, for a Prometheus server to scrape.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	otelexample "github.com/skiffrpc/skiff/examples/otel"
)

func main() {
	calls := flag.Int("calls", 10, "number of calls (without -listen)")
	listen := flag.String("listen", "", "serve /metrics on this address and call once a second")
	flag.Parse()
	if *listen == "" {
		if err := otelexample.RunPrometheus(os.Stdout, *calls); err != nil {
			log.Fatal(err)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := otelexample.Serve(ctx, *listen, time.Second, slog.Default()); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
