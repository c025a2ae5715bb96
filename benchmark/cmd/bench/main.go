package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
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

// frameworks lists the frameworks this binary was built with: each
// family's file adds its own in init. Build tags leave families out
// (nokitex, nogrpc, noskiff), so that benchdrive runs each framework in a
// process that links no other framework (see doc.go).
var frameworks = map[string]framework{
	"raw": {serve: serveRaw, dial: dialRaw},
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
	fs.Int64Var(&slow.every, "slow-every", 0, "every this many calls of each caller is slow: the server's handler (Skiff frameworks) sleeps -slow-delay, and the client leaves the call out of its latencies (0: none)")
	fs.DurationVar(&slow.delay, "slow-delay", 100*time.Millisecond, "the sleep of a slow call")
	return fs, fw, addr
}

// slow is the slow-call mode of this process, set from its flags before
// anything runs.
var slow struct {
	every int64
	delay time.Duration
}

// isSlow reports whether the call with sequence number seq (a caller's id
// in the high 32 bits, its count in the low ones) is a slow one.
func isSlow(seq int64) bool {
	return slow.every > 0 && (seq&0xffffffff)%slow.every == 0
}

// slowDown sleeps in a slow call's handler.
func slowDown(seq int64) {
	if isSlow(seq) {
		time.Sleep(slow.delay)
	}
}
