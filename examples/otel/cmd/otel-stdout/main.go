// Command otel-stdout runs the otel example with the OpenTelemetry stdout
// exporters: three calls from a client through an echo service (TTHeader)
// to a Greeter (gRPC), then prints every span (one trace per call, three
// spans each), the frontend's log lines with their trace ids, and the RPC
// metrics.
package main

import (
	"flag"
	"log"
	"os"

	otelexample "github.com/skiffrpc/skiff/examples/otel"
)

func main() {
	calls := flag.Int("calls", 3, "number of calls")
	flag.Parse()
	if err := otelexample.RunStdout(os.Stdout, *calls); err != nil {
		log.Fatal(err)
	}
}
