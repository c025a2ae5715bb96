package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
)

func serverMain(args []string) error {
	fs, fw, addr := flagSet("server")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memprofile := fs.String("memprofile", "", "write an allocation profile to this file at exit")
	traceFile := fs.String("trace", "", "write a runtime execution trace of the whole run to this file")
	_ = fs.Parse(args)
	f, err := lookup(*fw)
	if err != nil {
		return err
	}
	if *memprofile != "" {
		runtime.MemProfileRate = 64 << 10
	}
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			pf.Close()
		}()
	}
	if *traceFile != "" {
		tf, err := os.Create(*traceFile)
		if err != nil {
			return err
		}
		if err := trace.Start(tf); err != nil {
			return err
		}
		defer func() {
			trace.Stop()
			tf.Close()
		}()
	}
	// Subscribe before serving: some frameworks install their own handlers,
	// and every subscriber gets the signal.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	// SIGUSR1 prints the heap allocations so far, so that a driver can
	// count allocations per call over its window.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("bench: mallocs %d\n", ms.Mallocs)
		}
	}()
	if err := f.serve(*addr); err != nil {
		return fmt.Errorf("%s server: %w", *fw, err)
	}
	<-sig
	if *memprofile != "" {
		mf, merr := os.Create(*memprofile)
		if merr == nil {
			merr = pprof.Lookup("allocs").WriteTo(mf, 0)
			mf.Close()
		}
		if err == nil {
			err = merr
		}
	}
	return err
}
