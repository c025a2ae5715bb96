package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/cloudwego/kitex/pkg/limit"
	kserver "github.com/cloudwego/kitex/server"
	kecho "github.com/skiffrpc/skiff/benchmark/kitex_gen/echo"
	kechosvc "github.com/skiffrpc/skiff/benchmark/kitex_gen/echo/echoservice"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/limiter"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "server":
			exitOn(runServer(os.Args[2:]))
			return
		case "load":
			exitOn(runLoad(os.Args[2:]))
			return
		}
	}
	exitOn(drive(os.Args[1:]))
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(1)
	}
}

// ---- the handler: about 1 ms of CPU ----

var sink atomic.Uint32

// spinN is the number of checksum rounds that take about 1 ms, measured
// once at start.
var spinN int

var spinBuf = make([]byte, 4096)

func spin(n int) {
	var c uint32
	for range n {
		c = crc32.Update(c, crc32.IEEETable, spinBuf)
	}
	sink.Add(c)
}

func calibrate() {
	n := 64
	for {
		start := time.Now()
		spin(n)
		if d := time.Since(start); d > 20*time.Millisecond {
			best := d
			for range 5 { // the least of a few: the CPU cost without interruptions
				start = time.Now()
				spin(n)
				best = min(best, time.Since(start))
			}
			spinN = int(float64(n) * float64(time.Millisecond) / float64(best))
			return
		}
		n *= 2
	}
}

var handled atomic.Int64

type skiffEcho struct{}

func (skiffEcho) Echo(_ context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	spin(spinN)
	handled.Add(1)
	return &echo.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}
func (skiffEcho) Fail(context.Context, int32) (*echo.EchoResponse, error) { return nil, nil }
func (skiffEcho) Notify(context.Context, string) error                    { return nil }

type kitexEcho struct{}

func (*kitexEcho) Echo(_ context.Context, req *kecho.EchoRequest) (*kecho.EchoResponse, error) {
	spin(spinN)
	handled.Add(1)
	return &kecho.EchoResponse{Message: req.Message, Seq: req.Seq}, nil
}
func (*kitexEcho) Fail(context.Context, int32) (*kecho.EchoResponse, error) { return nil, nil }
func (*kitexEcho) Notify(context.Context, string) error                     { return nil }

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	kind := fs.String("kind", "skiff", "skiff, skiff-adaptive, kitex or kitex-qps")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	qps := fs.Int("qps", 0, "Kitex MaxQPS (kitex-qps)")
	_ = fs.Parse(args)
	calibrate()
	klog.SetLevel(klog.LevelFatal)
	quiet := slog.New(slog.DiscardHandler)
	var stop func()
	switch *kind {
	case "skiff", "skiff-adaptive":
		opts := []server.Option{server.WithAddress(*addr), server.WithLogger(quiet)}
		var lim *limiter.Limiter
		if *kind == "skiff-adaptive" {
			lim = limiter.New(limiter.WithAdaptive(), limiter.WithLogger(quiet))
			opts = append(opts, server.WithSuite(lim))
		}
		svr := server.New(opts...)
		if err := svr.RegisterService(echo.ServiceInfo(), skiffEcho{}); err != nil {
			return err
		}
		if err := svr.Start(); err != nil {
			return err
		}
		stop = func() {
			if lim != nil {
				fmt.Fprintf(os.Stderr, "server: limiter %+v\n", lim.Stats())
			}
			_ = svr.Stop()
		}
	case "kitex", "kitex-qps":
		a, err := net.ResolveTCPAddr("tcp", *addr)
		if err != nil {
			return err
		}
		opts := []kserver.Option{kserver.WithServiceAddr(a)}
		if *kind == "kitex-qps" {
			opts = append(opts, kserver.WithLimit(&limit.Option{MaxConnections: 1 << 20, MaxQPS: *qps}))
		}
		svr := kechosvc.NewServer(&kitexEcho{}, opts...)
		go func() { _ = svr.Run() }()
		stop = func() { _ = svr.Stop() }
	default:
		return fmt.Errorf("unknown server kind %q", *kind)
	}
	fmt.Printf("ready spin=%d\n", spinN)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	deadline := time.After(10 * time.Minute)
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGUSR1 {
				fmt.Printf("handled %d\n", handled.Load())
				continue
			}
			stop()
			return nil
		case <-deadline:
			stop()
			return errors.New("still running after 10 minutes")
		}
	}
}

// ---- the load generator ----

// result is what one load run measured in its window.
type result struct {
	Offered    float64 `json:"offered"`     // calls started per second
	Goodput    float64 `json:"goodput"`     // successes per second
	P50        float64 `json:"p50_ms"`      // of successes
	P99        float64 `json:"p99_ms"`      // of successes
	Overload   float64 `json:"overload"`    // ErrOverload rejections per second
	Timeouts   float64 `json:"timeouts"`    // per second
	Other      float64 `json:"other"`       // other errors per second
	FirstOther string  `json:"first_other"` // one of the other errors
}

func runLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	addr := fs.String("addr", "", "server address")
	rate := fs.Float64("rate", 0, "open loop: calls started per second")
	conc := fs.Int("conc", 0, "closed loop: callers each calling in a loop")
	warmup := fs.Duration("warmup", 2*time.Second, "warm-up")
	dur := fs.Duration("duration", 5*time.Second, "measuring window")
	timeout := fs.Duration("timeout", time.Second, "RPC timeout")
	_ = fs.Parse(args)
	quiet := slog.New(slog.DiscardHandler)
	cli, err := client.New(echo.ServiceInfo(), client.WithHostPorts(*addr), client.WithLogger(quiet),
		client.WithTransport(ttheader.TTHeaderFramed), client.WithRPCTimeout(*timeout),
		client.WithLongConnection(client.PoolConfig{MaxIdlePerAddress: 1 << 16, MaxIdleGlobal: 1 << 16, MaxIdleTimeout: time.Minute}))
	if err != nil {
		return err
	}
	defer cli.Close()
	ec := echo.NewClient(cli)

	var measuring atomic.Bool
	var mu sync.Mutex
	var lat []time.Duration
	var started, overload, timeouts, other atomic.Int64
	var firstOther atomic.Value
	one := func() {
		m := measuring.Load()
		if m {
			started.Add(1)
		}
		t0 := time.Now()
		_, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "x"})
		d := time.Since(t0)
		if !m || !measuring.Load() {
			return
		}
		switch {
		case err == nil:
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		case errors.Is(err, status.ErrOverload):
			overload.Add(1)
		case errors.Is(err, status.ErrTimeout):
			timeouts.Add(1)
		default:
			other.Add(1)
			firstOther.CompareAndSwap(nil, err.Error())
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if *conc > 0 {
		for range *conc {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						one()
					}
				}
			})
		}
	} else {
		// Open loop: start calls on a 1 ms tick whatever the replies do,
		// each in its own goroutine (bounded).
		wg.Go(func() {
			const maxOutstanding = 20000
			var outstanding atomic.Int64
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			begin := time.Now()
			var sent float64
			for {
				select {
				case <-stop:
					return
				case now := <-tick.C:
					due := now.Sub(begin).Seconds() * *rate
					for ; sent < due; sent++ {
						if outstanding.Load() >= maxOutstanding {
							continue
						}
						outstanding.Add(1)
						wg.Go(func() { defer outstanding.Add(-1); one() })
					}
				}
			}
		})
	}
	time.Sleep(*warmup)
	measuring.Store(true)
	time.Sleep(*dur)
	measuring.Store(false)
	close(stop)
	wg.Wait()
	sec := dur.Seconds()
	mu.Lock()
	slices.Sort(lat)
	r := result{
		Offered:  float64(started.Load()) / sec,
		Goodput:  float64(len(lat)) / sec,
		P50:      ms(pct(lat, 0.50)),
		P99:      ms(pct(lat, 0.99)),
		Overload: float64(overload.Load()) / sec,
		Timeouts: float64(timeouts.Load()) / sec,
		Other:    float64(other.Load()) / sec,
	}
	mu.Unlock()
	if s, ok := firstOther.Load().(string); ok {
		r.FirstOther = s
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

func pct(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ---- the driver ----

type proc struct {
	cmd  *exec.Cmd
	out  *strings.Builder
	mu   *sync.Mutex
	done chan struct{}
}

func start(cpu string, args ...string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("taskset", append([]string{"-c", cpu, exe}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{cmd: cmd, out: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	w := writerFunc(func(b []byte) (int, error) { p.mu.Lock(); defer p.mu.Unlock(); return p.out.Write(b) })
	cmd.Stdout, cmd.Stderr = w, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (p *proc) output() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }

func (p *proc) wait(d time.Duration) error {
	select {
	case <-p.done:
		return nil
	case <-time.After(d):
		p.kill()
		return errors.New("timed out")
	}
}

func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// serve starts a pinned server and waits until it is ready.
func serve(cfg config, kind string, qps int) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	p, err := start(cfg.serverCPU, "server", "-kind", kind, "-addr", addr, "-qps", strconv.Itoa(qps))
	if err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.output(), "ready") {
		if time.Now().After(deadline) {
			p.kill()
			return nil, "", errors.New("server not ready in 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	return p, addr, nil
}

// load runs the load generator pinned and returns its result.
func load(cfg config, args ...string) (result, error) {
	p, err := start(cfg.clientCPU, append([]string{"load"}, args...)...)
	if err != nil {
		return result{}, err
	}
	if err := p.wait(2 * time.Minute); err != nil {
		return result{}, err
	}
	var r result
	out := p.output()
	if i := strings.LastIndex(strings.TrimSpace(out), "\n"); i >= 0 {
		out = out[i+1:]
	}
	err = json.Unmarshal([]byte(strings.TrimSpace(out)), &r)
	return r, err
}

// loadWatching is load, asking the server (SIGUSR1) how many handlers it
// has run when the load's window starts and ends; the counts go to
// handled.
func loadWatching(cfg config, server *proc, handled *[]int64, args ...string) (result, error) {
	p, err := start(cfg.clientCPU, append([]string{"load"}, args...)...)
	if err != nil {
		return result{}, err
	}
	time.Sleep(cfg.warmup)
	_ = server.cmd.Process.Signal(syscall.SIGUSR1) // taskset execs the server: same pid
	time.Sleep(cfg.dur)
	_ = server.cmd.Process.Signal(syscall.SIGUSR1)
	if err := p.wait(2 * time.Minute); err != nil {
		return result{}, err
	}
	time.Sleep(50 * time.Millisecond)
	for _, l := range strings.Split(server.output(), "\n") {
		if rest, ok := strings.CutPrefix(l, "handled "); ok {
			if n, err := strconv.ParseInt(rest, 10, 64); err == nil {
				*handled = append(*handled, n)
			}
		}
	}
	var r result
	out := strings.TrimSpace(p.output())
	if i := strings.LastIndex(out, "\n"); i >= 0 {
		out = out[i+1:]
	}
	err = json.Unmarshal([]byte(out), &r)
	return r, err
}

type config struct {
	serverCPU, clientCPU string
	warmup, dur          time.Duration
	factor               float64
}

func drive(args []string) error {
	fs := flag.NewFlagSet("overload", flag.ExitOnError)
	var cfg config
	fs.StringVar(&cfg.serverCPU, "server-cpu", "0", "taskset CPU list of the server")
	fs.StringVar(&cfg.clientCPU, "client-cpu", "1", "taskset CPU list of the load generator")
	fs.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "overload before measuring")
	fs.DurationVar(&cfg.dur, "duration", 5*time.Second, "measuring window")
	fs.Float64Var(&cfg.factor, "factor", 3, "offered load, times the capacity")
	only := fs.String("only", "", "comma-separated subset of the scenarios")
	_ = fs.Parse(args)
	window := []string{"-warmup", cfg.warmup.String(), "-duration", cfg.dur.String()}

	// Capacity and unloaded latency, on a Skiff server without a limiter.
	p, addr, err := serve(cfg, "skiff", 0)
	if err != nil {
		return err
	}
	unloaded, err := load(cfg, append([]string{"-addr", addr, "-conc", "1"}, "-warmup", "1s", "-duration", "3s")...)
	if err != nil {
		p.kill()
		return fmt.Errorf("unloaded run: %w", err)
	}
	capRun, err := load(cfg, append([]string{"-addr", addr, "-conc", "16"}, "-warmup", "1s", "-duration", "4s")...)
	p.kill()
	if err != nil {
		return fmt.Errorf("capacity run: %w", err)
	}
	capacity := capRun.Goodput
	fmt.Printf("unloaded (1 caller): %.0f calls/s, p50 %.2f ms, p99 %.2f ms\n", unloaded.Goodput, unloaded.P50, unloaded.P99)
	fmt.Printf("capacity (16 callers, closed loop): %.0f calls/s, p99 %.2f ms\n\n", capacity, capRun.P99)
	rate := capacity * cfg.factor

	scenarios := []struct {
		name, kind string
		qps        int
	}{
		{"Skiff, no limiter", "skiff", 0},
		{"Skiff, adaptive limiter (no number)", "skiff-adaptive", 0},
		{"Kitex v0.15.2, no limiter", "kitex", 0},
		{fmt.Sprintf("Kitex v0.15.2, MaxQPS %d (capacity)", int(capacity)), "kitex-qps", int(capacity)},
		{fmt.Sprintf("Kitex v0.15.2, MaxQPS %d (half)", int(capacity/2)), "kitex-qps", int(capacity / 2)},
	}
	fmt.Printf("offered %.0f calls/s (%.0fx capacity), open loop, RPC timeout 1 s, window %v after %v\n\n", rate, cfg.factor, cfg.dur, cfg.warmup)
	fmt.Println("| server | goodput /s | % of capacity | p50 ms | p99 ms (successes) | handlers run /s | overload /s | timeouts /s | other errors /s |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, sc := range scenarios {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), sc.kind) {
			continue
		}
		p, addr, err := serve(cfg, sc.kind, sc.qps)
		if err != nil {
			return err
		}
		var handled []int64
		r, err := loadWatching(cfg, p, &handled, append([]string{"-addr", addr, "-rate", strconv.FormatFloat(rate, 'f', 0, 64)}, window...)...)
		p.kill()
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		handlers := "?"
		if len(handled) == 2 {
			handlers = strconv.FormatFloat(float64(handled[1]-handled[0])/cfg.dur.Seconds(), 'f', 0, 64)
		}
		fmt.Printf("| %s | %.0f | %.0f %% | %.2f | %.2f | %s | %.0f | %.0f | %.0f |\n", sc.name, r.Goodput, 100*r.Goodput/capacity,
			r.P50, r.P99, handlers, r.Overload, r.Timeouts, r.Other)
		if r.FirstOther != "" {
			fmt.Fprintf(os.Stderr, "  %s: first other error: %s\n", sc.name, r.FirstOther)
		}
	}
	return nil
}
