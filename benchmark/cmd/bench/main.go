// Command bench is one side of an echo benchmark: a server or a load-making
// client for one framework. cmd/benchdrive runs pairs of them pinned to CPUs.
//
//	bench server -framework F -addr 127.0.0.1:PORT [-cpuprofile FILE] [-memprofile FILE]
//	bench client -framework F -addr 127.0.0.1:PORT -c 100 -size 1024 -warmup 2s -duration 5s
//
// The server runs until SIGTERM or SIGINT, then writes its profiles and
// exits. The client runs CONC goroutines that call Echo in a loop on one
// shared client, ignores the warm-up, measures for -duration, prints
// "bench: measure start" and "bench: measure end" on stderr at the window's
// edges and one JSON line of results on stdout.
//
// Frameworks: raw (plain TCP, 4-byte length + body, the ceiling),
// skiff-framed (Skiff's default engine, Netpoll), skiff-framed-std (Skiff
// on its engine.Std, the standard net package), skiff-mux (Skiff Framed,
// client WithMultiplex: calls pipelined on 2 connections), kitex-framed, kitex-ttheader, kitex-pb, kitex-grpc, grpc.
// Every framework echoes the request body and the seq field.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// A framework is one RPC stack: a server and a client of the echo service.
type framework struct {
	// serve starts a server on addr in the background and returns an error
	// if it could not; the server runs until the process exits.
	serve func(addr string) error
	// dial returns a client for conc concurrent callers.
	dial func(addr string, conc int) (client, error)
}

// A client calls Echo. call must be safe for concurrent use; it returns the
// length of the echoed body and the echoed seq.
type client interface {
	call(body string, seq int64) (int, int64, error)
	close()
}

var frameworks = map[string]framework{
	"raw":              {serve: serveRaw, dial: dialRaw},
	"skiff-framed":     {serve: serveSkiff, dial: dialSkiffFramed},
	"skiff-framed-std": {serve: serveSkiffStd, dial: dialSkiffFramedStd},
	"skiff-mux":        {serve: serveSkiff, dial: dialSkiffMux},
	"skiff-mux-std":    {serve: serveSkiff, dial: dialSkiffMuxStd},
	"kitex-framed":     {serve: serveKitexThrift, dial: dialKitexFramed},
	"kitex-ttheader":   {serve: serveKitexThrift, dial: dialKitexTTHeader},
	"kitex-pb":         {serve: serveKitexPB, dial: dialKitexPB},
	"kitex-grpc":       {serve: serveKitexPB, dial: dialKitexGRPC},
	"grpc":             {serve: serveGRPC, dial: dialGRPC},
}

func frameworkNames() string {
	var names []string
	for n := range frameworks {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = serverMain(os.Args[2:])
	case "client":
		err = clientMain(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: bench server|client -framework F -addr A [flags]\nframeworks: %s\n", frameworkNames())
	os.Exit(2)
}

func lookup(name string) (framework, error) {
	f, ok := frameworks[name]
	if !ok {
		return f, fmt.Errorf("unknown framework %q (have %s)", name, frameworkNames())
	}
	return f, nil
}

// flagSet returns a flag set for a mode with the common flags.
func flagSet(mode string) (*flag.FlagSet, *string, *string) {
	fs := flag.NewFlagSet("bench "+mode, flag.ExitOnError)
	fw := fs.String("framework", "skiff-framed", "framework: "+frameworkNames())
	addr := fs.String("addr", "127.0.0.1:8888", "listen address (server) or server address (client)")
	return fs, fw, addr
}
