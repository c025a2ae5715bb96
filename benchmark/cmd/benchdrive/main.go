package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var allFrameworks = []string{"raw", "skiff-framed", "skiff-framed-std", "skiff-mux", "skiff-mux-std", "skiff-ttheader", "skiff-ttheader-mux", "skiff-ttheader-otel", "skiff-ttheader-otel10", "kitex-framed", "kitex-ttheader", "kitex-ttheader-otel", "kitex-pb", "skiff-pb", "kitex-grpc", "grpc", "skiff-grpc", "skiff-grpc-std", "skiff-grpc-stdcli", "skiff-grpc-otel", "kitex-grpc-bidi", "grpc-bidi", "skiff-grpc-bidi", "skiff-grpc-bidi-std", "skiff-ttheader-auto", "skiff-ttheader-std", "skiff-ttheader-tls", "skiff-ttstream-bidi", "kitex-ttstream-bidi"}

type config struct {
	Frameworks []string `json:"frameworks"`
	OneBinary  bool     `json:"-"`
	// Binaries says how the frameworks were built: "per-family" (each
	// process links only its framework) or "one" (-one-binary). Results
	// from before the field existed were measured from one binary.
	Binaries    string        `json:"binaries"`
	Concs       []int         `json:"concurrencies"`
	Sizes       []int         `json:"sizes"`
	BaseConc    int           `json:"base_concurrency"`
	BaseSize    int           `json:"base_size"`
	Warmup      time.Duration `json:"-"`
	Duration    time.Duration `json:"-"`
	WarmupS     float64       `json:"warmup_s"`
	DurationS   float64       `json:"duration_s"`
	ServerCPU   string        `json:"server_cpu"`
	ClientCPU   string        `json:"client_cpu"`
	Pinned      bool          `json:"pinned"`
	CPUProfile  bool          `json:"cpuprofile"`
	Quick       bool          `json:"quick"`
	CommandLine string        `json:"command_line"`
	// SlowEvery and SlowDelay: every SlowEvery-th call of each caller
	// takes SlowDelay in the server's handler (Skiff frameworks), and is
	// left out of the latency figures (0: none).
	SlowEvery int           `json:"slow_every,omitempty"`
	SlowDelay time.Duration `json:"-"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchdrive:", err)
		os.Exit(1)
	}
}

func run() error {
	fws := flag.String("frameworks", strings.Join(allFrameworks, ","), "comma-separated frameworks to run")
	quick := flag.Bool("quick", false, "smoke run: 1 s warm-up, 2 s measure, concurrency 100 and 1000 at 1 KB, 16 KB at concurrency 100 (unless -conc, -sizes, -warmup or -duration are given)")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up per run")
	duration := flag.Duration("duration", 5*time.Second, "measuring window per run")
	concs := flag.String("conc", "1,10,100,400,1000", "concurrencies of the concurrency sweep (body -base-size)")
	sizes := flag.String("sizes", "128,1024,4096,16384,65536", "body sizes in bytes of the size sweep (concurrency -base-conc)")
	baseConc := flag.Int("base-conc", 100, "concurrency of the size sweep")
	baseSize := flag.Int("base-size", 1024, "body size of the concurrency sweep")
	out := flag.String("out", "", "output directory (default: results/ in the benchmark module)")
	serverCPU := flag.String("server-cpu", "0", "taskset CPU list for servers")
	clientCPU := flag.String("client-cpu", "1", "taskset CPU list for clients")
	noPin := flag.Bool("nopin", false, "do not pin with taskset")
	cpuprofile := flag.Bool("cpuprofile", false, "write CPU profiles of each server (whole run) and client (measuring window) to <out>/profiles/")
	total := flag.Duration("timeout", 60*time.Minute, "stop everything after this long")
	fromJSON := flag.String("report", "", "only redraw latest.md and the charts in -out from this results JSON (a latest.json), running nothing")
	slowEvery := flag.Int("slow-every", 0, "every this many calls of each caller, the server's handler sleeps -slow-delay (Skiff frameworks only); those calls are left out of the latencies (0: none)")
	slowDelay := flag.Duration("slow-delay", 100*time.Millisecond, "the sleep of a slow call (see -slow-every)")
	oneBinary := flag.Bool("one-binary", false, "run every framework from one bench binary that links them all (before 2026-12: the only way), instead of one binary per framework family that links no other framework")
	retries := flag.Int("noisy-retries", 2, "run a scenario again, up to this many times, when other load on the machine took more than 10% of a CPU during its window; the quietest try is kept")
	flag.Parse()

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["warmup"] {
			*warmup = time.Second
		}
		if !set["duration"] {
			*duration = 2 * time.Second
		}
		if !set["conc"] {
			*concs = "100,1000"
		}
		if !set["sizes"] {
			*sizes = "1024,16384"
		}
	}
	cfg := config{
		BaseConc: *baseConc, BaseSize: *baseSize,
		Warmup: *warmup, Duration: *duration, WarmupS: warmup.Seconds(), DurationS: duration.Seconds(),
		ServerCPU: *serverCPU, ClientCPU: *clientCPU, Pinned: !*noPin,
		CPUProfile: *cpuprofile, Quick: *quick, SlowEvery: *slowEvery, SlowDelay: *slowDelay,
		OneBinary:   *oneBinary,
		Binaries:    map[bool]string{false: "per-family", true: "one"}[*oneBinary],
		CommandLine: strings.Join(append([]string{"benchdrive"}, os.Args[1:]...), " "),
	}
	for _, f := range strings.Split(*fws, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !slices.Contains(allFrameworks, f) {
			return fmt.Errorf("unknown framework %q (have %s)", f, strings.Join(allFrameworks, ", "))
		}
		cfg.Frameworks = append(cfg.Frameworks, f)
	}
	var err error
	if cfg.Concs, err = intList(*concs); err != nil {
		return fmt.Errorf("-conc: %w", err)
	}
	if cfg.Sizes, err = intList(*sizes); err != nil {
		return fmt.Errorf("-sizes: %w", err)
	}
	if len(cfg.Frameworks) == 0 {
		return errors.New("no frameworks")
	}
	if cfg.Pinned {
		if _, err := exec.LookPath("taskset"); err != nil {
			return errors.New("taskset not found (util-linux); install it or pass -nopin")
		}
	}

	modDir, err := moduleDir()
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(modDir, "results")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}

	if *fromJSON != "" {
		b, err := os.ReadFile(*fromJSON)
		if err != nil {
			return err
		}
		var rep Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("%s: %w", *fromJSON, err)
		}
		files, err := writeReport(*out, rep)
		for _, f := range files {
			fmt.Fprintln(os.Stderr, "benchdrive: wrote", f)
		}
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), *total)
	defer cancel()
	// Ctrl-C or SIGTERM cancels the context; running processes are then
	// stopped by their runs, which watch ctx.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	tmp, err := os.MkdirTemp("", "benchdrive-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// Each framework family runs from a binary that links no other
	// family (build tags of cmd/bench): a framework's process then holds
	// only its own init-time state, as in a real service. (Linked into
	// one binary, Kitex's and its codecs' caches, about 19 MB of heap, sat
	// in every process and lengthened Skiff's collections.)
	bins := map[string]string{}
	for _, fw := range cfg.Frameworks {
		tags := familyTags(fw)
		if cfg.OneBinary {
			tags = ""
		}
		if _, ok := bins[tags]; ok {
			continue
		}
		bin := filepath.Join(tmp, "bench-"+strings.ReplaceAll(tags, ",", "-"))
		fmt.Fprintf(os.Stderr, "benchdrive: building cmd/bench (tags %q)\n", tags)
		bctx, bcancel := context.WithTimeout(ctx, 10*time.Minute)
		build := exec.CommandContext(bctx, "go", "build", "-tags", tags, "-o", bin, "./cmd/bench")
		build.Dir = modDir
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		err = build.Run()
		bcancel()
		if err != nil {
			return fmt.Errorf("building cmd/bench: %w", err)
		}
		bins[tags] = bin
	}
	binFor := func(fw string) string {
		if cfg.OneBinary {
			return bins[""]
		}
		return bins[familyTags(fw)]
	}

	machine := describeMachine(modDir)
	scen := scenarios(cfg)
	fmt.Fprintf(os.Stderr, "benchdrive: %d scenarios x %d frameworks, %v warm-up + %v each\n",
		len(scen), len(cfg.Frameworks), cfg.Warmup, cfg.Duration)
	var runs []Run
	for _, s := range scen {
		for _, fw := range cfg.Frameworks {
			if ctx.Err() != nil {
				break
			}
			bin := binFor(fw)
			r := runOne(ctx, cfg, bin, *out, fw, s)
			for try := 0; try < *retries && r.Error == "" && noisy(r) && ctx.Err() == nil; try++ {
				fmt.Fprintf(os.Stderr, "%-16s c=%-5d size=%-6d noisy (other load %.0f%%, steal %.0f%%): again\n",
					fw, s.conc, s.size, r.OtherCPUUtil*100, r.StealUtil*100)
				time.Sleep(2 * time.Second)
				if again := runOne(ctx, cfg, bin, *out, fw, s); again.Error == "" && again.OtherCPUUtil+again.StealUtil < r.OtherCPUUtil+r.StealUtil {
					r = again
				}
			}
			if r.Error != "" {
				fmt.Fprintf(os.Stderr, "%-16s c=%-5d size=%-6d FAILED: %s\n", fw, s.conc, s.size, r.Error)
			} else {
				fmt.Fprintf(os.Stderr, "%-16s c=%-5d size=%-6d qps=%9.0f p50=%8.1fus p99=%8.1fus p999=%8.1fus srvcpu=%5.2fus/call (%3.0f%%) cli=%5.2fus/call allocs=%.1f/%.1f rss=%5.1fMB other=%3.0f%% err=%d\n",
					fw, s.conc, s.size, r.QPS, r.P50, r.P99, r.P999, r.ServerCPUPerCall, r.ServerCPUUtil*100, r.ClientCPUPerCall,
					r.ServerAllocsPerCall, r.ClientAllocsPerCall, r.ServerRSSMB, r.OtherCPUUtil*100, r.Errors)
			}
			runs = append(runs, r)
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "benchdrive: stopped early:", context.Cause(ctx))
	}
	rep := Report{Machine: machine, Config: cfg, Runs: runs}
	files, err := writeReport(*out, rep)
	for _, f := range files {
		fmt.Fprintln(os.Stderr, "benchdrive: wrote", f)
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}

// noisy reports whether other load on the machine, or hypervisor steal,
// took a noticeable share of the CPUs during r's window.
func noisy(r Run) bool { return r.OtherCPUUtil > 0.1 || r.StealUtil > 0.05 }

type scenario struct{ conc, size int }

// scenarios is the concurrency sweep at the base size, then the size sweep
// at the base concurrency, without duplicates.
func scenarios(cfg config) []scenario {
	var out []scenario
	add := func(s scenario) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, c := range cfg.Concs {
		add(scenario{c, cfg.BaseSize})
	}
	for _, s := range cfg.Sizes {
		add(scenario{cfg.BaseConc, s})
	}
	return out
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// moduleDir is the directory of the benchmark module: the working
// directory or one above it, or their benchmark/ subdirectory.
func moduleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	const want = "module github.com/skiffrpc/skiff/benchmark\n"
	for d := dir; ; d = filepath.Dir(d) {
		for _, c := range []string{d, filepath.Join(d, "benchmark")} {
			if b, err := os.ReadFile(filepath.Join(c, "go.mod")); err == nil && strings.Contains(string(b), want) {
				return c, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("run benchdrive inside the benchmark module or the repository root, not %s", dir)
		}
	}
}

// familyTags returns the build tags of cmd/bench that leave out every
// framework family but fw's: Skiff, Kitex, grpc-go, or none for raw.
func familyTags(fw string) string {
	switch {
	case strings.HasPrefix(fw, "skiff"):
		return "nokitex,nogrpc"
	case strings.HasPrefix(fw, "kitex"):
		return "noskiff,nogrpc"
	case strings.HasPrefix(fw, "grpc"):
		return "noskiff,nokitex"
	}
	return "noskiff,nokitex,nogrpc"
}
