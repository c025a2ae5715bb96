// Command soak runs the soak test of package soak against a server in a
// child process (this same binary, run with -serve) and exits 1 when a
// check fails:
//
//	go run ./cmd/soak -d 10m
//
// Flags: -d (duration), -warmup, -sample, -rate (calls/s, -1 for no
// bound), -workers, -restart (the second server's restart period, -1 for
// never), -engine (netpoll or std, both servers), -max-drift.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"time"

	"github.com/skiffrpc/skiff/benchmark/soak"
)

func main() {
	serve := flag.Bool("serve", false, "be the measured server (used by the soak itself)")
	eng := flag.String("engine", "netpoll", "server engine: netpoll or std")
	d := flag.Duration("d", 10*time.Minute, "how long the load runs")
	warmup := flag.Duration("warmup", 0, "start of the load left out of the RSS drift (default d/5)")
	sample := flag.Duration("sample", 10*time.Second, "sampling interval")
	rate := flag.Int("rate", 1000, "calls per second (-1: as fast as the workers go)")
	workers := flag.Int("workers", 16, "calling goroutines")
	restart := flag.Duration("restart", time.Minute, "restart period of the second server (-1ns: never)")
	drift := flag.Float64("max-drift", 0.05, "largest RSS growth after the warm-up, as a fraction")
	flag.Parse()
	e, err := soak.EngineByName(*eng)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *serve {
		if err := soak.Serve(os.Stdin, os.Stdout, e); err != nil {
			fmt.Fprintln(os.Stderr, "soak server:", err)
			os.Exit(1)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := soak.Run(ctx, soak.Config{
		Duration: *d, Warmup: *warmup, Sample: *sample, Rate: *rate, Workers: *workers,
		Restart: *restart, Engine: e, MaxDrift: *drift, Out: os.Stdout,
		Server: func() *exec.Cmd {
			cmd := exec.Command(self, "-serve", "-engine", *eng)
			cmd.Stderr = os.Stderr
			return cmd
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if !rep.OK() {
		os.Exit(1)
	}
}
