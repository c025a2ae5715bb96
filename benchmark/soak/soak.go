package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/registrytest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/examples/greeter/greeterpb"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// Config is one soak run.
type Config struct {
	// Duration is how long the load runs.
	Duration time.Duration
	// Warmup is the start of the load left out of the RSS drift (default
	// a fifth of Duration).
	Warmup time.Duration
	// Sample is the interval between samples of the measured server
	// (default 10 s).
	Sample time.Duration
	// Rate bounds the calls per second, all kinds together (default 1000;
	// negative: as fast as the workers go).
	Rate int
	// Workers is the number of calling goroutines (default 16).
	Workers int
	// Restart is how often the second, in-process server restarts
	// (default 1 minute; negative: never).
	Restart time.Duration
	// Engine is the second server's engine (default engine.Default).
	Engine engine.Engine
	// Server starts the measured server process, one that runs [Serve]
	// on its standard input and output. Required.
	Server func() *exec.Cmd
	// Out receives a progress line per sample and the report (default
	// io.Discard).
	Out io.Writer
	// MaxDrift is the largest RSS growth allowed after the warm-up, as a
	// fraction (default 0.05).
	MaxDrift float64
	// GoroutineSlack and FDSlack are how many goroutines and descriptors
	// above the baseline still count as back to it (default 2 and 0).
	GoroutineSlack, FDSlack int
	// Settle bounds the wait, after the load, for goroutines and
	// descriptors to come back to the baseline (default 15 s).
	Settle time.Duration
}

func (c *Config) defaults() {
	if c.Warmup <= 0 {
		c.Warmup = c.Duration / 5
	}
	if c.Sample <= 0 {
		c.Sample = 10 * time.Second
	}
	if c.Rate == 0 {
		c.Rate = 1000
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.Restart == 0 {
		c.Restart = time.Minute
	}
	if c.Engine == nil {
		c.Engine = engine.Default
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.MaxDrift <= 0 {
		c.MaxDrift = 0.05
	}
	if c.GoroutineSlack <= 0 {
		c.GoroutineSlack = 2
	}
	if c.Settle <= 0 {
		c.Settle = 15 * time.Second
	}
}

// Report is a soak run's outcome.
type Report struct {
	// Baseline is the measured server before any load; Final, after the
	// load ended and its clients closed.
	Baseline, Final Sample
	// Samples are the samples taken under load, with their time since
	// the load began.
	Samples []Point
	// RSSWarm and RSSEnd are the mean RSS over the first and the last
	// third of the samples after the warm-up; Drift is their relative
	// difference.
	RSSWarm, RSSEnd int64
	Drift           float64
	// Calls counts the calls and streams made; Expected those that failed
	// as the load meant them to (timeouts, cancellations, declared
	// exceptions); Unexpected the others, with a few of them in Examples.
	Calls, Expected, Unexpected int64
	Examples                    []string
	// P99 is the worst interval's 99th percentile latency of the calls
	// expected to succeed at once.
	P99 time.Duration
	// Restarts counts the second server's restarts.
	Restarts int
	// Failures lists the checks that failed; empty when the run passed.
	Failures []string
}

// Point is one sample under load.
type Point struct {
	At time.Duration
	Sample
	Calls, Unexpected int64
	P99               time.Duration
}

// OK reports whether every check passed.
func (r *Report) OK() bool { return len(r.Failures) == 0 }

// child is the measured server process.
type child struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	mu   sync.Mutex
	addr string
}

func startChild(cmd *exec.Cmd) (*child, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	if !c.out.Scan() {
		c.kill()
		return nil, fmt.Errorf("soak: the server process said nothing: %v", c.out.Err())
	}
	addr, ok := strings.CutPrefix(c.out.Text(), "addr ")
	if !ok {
		c.kill()
		return nil, fmt.Errorf("soak: the server process said %q, want its address", c.out.Text())
	}
	c.addr = addr
	return c, nil
}

func (c *child) sample() (Sample, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s Sample
	if _, err := io.WriteString(c.in, "sample\n"); err != nil {
		return s, err
	}
	if !c.out.Scan() {
		return s, fmt.Errorf("soak: no sample from the server process: %v", c.out.Err())
	}
	return s, json.Unmarshal(c.out.Bytes(), &s)
}

// stop stops the process gracefully and returns its Stop's result.
func (c *child) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = io.WriteString(c.in, "stop\n")
	var res string
	if c.out.Scan() {
		res = c.out.Text()
	}
	_ = c.in.Close()
	err := c.cmd.Wait()
	if res != "stopped ok" {
		return fmt.Errorf("soak: server process: %q (exit: %v)", res, err)
	}
	return err
}

func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// outcome says whether a call's error is what its kind expects.
type outcome int

const (
	ok outcome = iota
	expected
	unexpected
)

// loadgen makes the calls.
type loadgen struct {
	cfg                 *Config
	mem                 *registrytest.Memory
	hostile             string // the measured server's address
	pooled, mux, shortC *echo.Client
	grpc                *greeterpb.GreeterClient
	closers             []*client.Client
	calls, exp, unexp   atomic.Int64
	mu                  sync.Mutex
	lat                 []time.Duration
	examples            []string
}

func (g *loadgen) newClient(opts ...client.Option) (*client.Client, error) {
	return client.New(echo.ServiceInfo(), append([]client.Option{client.WithResolver(g.mem.Watching()),
		client.WithLogger(slog.New(slog.DiscardHandler)), client.WithRPCTimeout(2 * time.Second)}, opts...)...)
}

func (g *loadgen) dial() error {
	for _, c := range []struct {
		dst  **echo.Client
		opts []client.Option
	}{
		{&g.pooled, []client.Option{client.WithTransport(ttheader.TTHeader), client.WithLongConnection(client.PoolConfig{})}},
		{&g.mux, []client.Option{client.WithTransport(ttheader.TTHeader), client.WithMultiplex(2)}},
		{&g.shortC, []client.Option{client.WithTransport(ttheader.TTHeader), client.WithShortConnection()}},
	} {
		cli, err := g.newClient(c.opts...)
		if err != nil {
			return err
		}
		g.closers = append(g.closers, cli)
		*c.dst = echo.NewClient(cli)
	}
	cli, err := client.New(greeterpb.GreeterServiceInfo(), client.WithResolver(g.mem.Watching()),
		client.WithLogger(slog.New(slog.DiscardHandler)), client.WithRPCTimeout(2*time.Second),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default))
	if err != nil {
		return err
	}
	g.closers = append(g.closers, cli)
	g.grpc = greeterpb.NewGreeterSkiffClient(cli)
	return nil
}

func (g *loadgen) close() {
	for _, c := range g.closers {
		_ = c.Close()
	}
}

// call makes the i-th call of the mix: mostly calls that succeed (TTHeader
// pooled and multiplexed, gRPC unary), and some gRPC streams, calls that
// time out, are cancelled or fail with a declared exception, new
// connections (short connections, clients made for one call) and a
// hostile one (garbage bytes, which the server must answer by closing).
func (g *loadgen) call(ctx context.Context, i int) {
	kind, t0 := "", time.Now()
	var res outcome
	var err error
	expectOK := func(e error) outcome {
		err = e
		if e == nil {
			return ok
		}
		return unexpected
	}
	switch i % 20 {
	case 0, 1, 2, 3, 4, 5:
		kind = "ttheader-pooled"
		_, e := g.pooled.Echo(ctx, &echo.EchoRequest{Message: "x"})
		res = expectOK(e)
	case 6, 7, 8, 9, 10, 11:
		kind = "ttheader-mux"
		_, e := g.mux.Echo(ctx, &echo.EchoRequest{Message: "x"})
		res = expectOK(e)
	case 12, 13, 14:
		kind = "grpc-unary"
		_, e := g.grpc.SayHello(ctx, &greeterpb.HelloRequest{Name: "x"})
		res = expectOK(e)
	case 15:
		kind = "grpc-stream"
		res = expectOK(g.stream(ctx))
	case 16:
		kind = "timeout"
		_, err = g.mux.Echo(ctx, &echo.EchoRequest{Message: "slow:200"}, client.WithCallTimeout(50*time.Millisecond))
		res = unexpected
		// The client's timer, or the server's (the deadline travels with
		// the call and ends the handler's context).
		if errors.Is(err, status.ErrTimeout) || status.CodeOf(err) == status.DeadlineExceeded {
			res = expected
		}
	case 17:
		kind = "cancel"
		cctx, cancel := context.WithCancel(ctx)
		t := time.AfterFunc(20*time.Millisecond, cancel)
		_, err = g.pooled.Echo(cctx, &echo.EchoRequest{Message: "slow:200"})
		t.Stop()
		cancel()
		res = unexpected
		if errors.Is(err, status.ErrCanceled) || errors.Is(err, context.Canceled) {
			res = expected
		}
	case 18:
		kind = "declared"
		_, err = g.pooled.Fail(ctx, 7)
		var ee *echo.EchoError
		res = unexpected
		if errors.As(err, &ee) && ee.Code == 7 {
			res = expected
		}
	case 19:
		switch i / 20 % 4 {
		case 0:
			kind = "short-connection"
			_, e := g.shortC.Echo(ctx, &echo.EchoRequest{Message: "x"})
			res = expectOK(e)
		case 1, 2:
			kind = "new-client"
			res = expectOK(g.oneShot(ctx))
		case 3:
			kind = "garbage"
			res = expectOK(g.garbage())
		}
	}
	g.calls.Add(1)
	switch res {
	case ok:
		if kind != "grpc-stream" && kind != "new-client" && kind != "short-connection" {
			d := time.Since(t0)
			g.mu.Lock()
			g.lat = append(g.lat, d)
			g.mu.Unlock()
		}
	case expected:
		g.exp.Add(1)
	case unexpected:
		g.unexp.Add(1)
		g.mu.Lock()
		if len(g.examples) < 10 {
			g.examples = append(g.examples, fmt.Sprintf("%s: %v", kind, err))
		}
		g.mu.Unlock()
	}
}

// stream reads a five-message gRPC server stream to its end.
func (g *loadgen) stream(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := g.grpc.LotsOfHellos(ctx, &greeterpb.HelloRequest{Name: "s", Times: 5})
	if err != nil {
		return err
	}
	for n := 0; ; n++ {
		_, err := st.Recv()
		if errors.Is(err, io.EOF) {
			if n != 5 {
				return fmt.Errorf("stream ended after %d of 5 messages", n)
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// garbage is a hostile client: it sends bytes no protocol knows to the
// measured server, which must close the connection.
func (g *loadgen) garbage() error {
	c, err := net.DialTimeout("tcp", g.hostile, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("\x00\x00\x00\x10GARBAGE-GARBAGE!NOT A PROTOCOL AT ALL")); err != nil {
		return nil // closed already
	}
	var b [64]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return errors.New("the server kept a garbage connection open for 3 s")
			}
			return nil // closed by the server
		}
	}
}

// oneShot makes a client, one call with it, and closes it.
func (g *loadgen) oneShot(ctx context.Context) error {
	cli, err := g.newClient(client.WithTransport(ttheader.TTHeader))
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = echo.NewClient(cli).Echo(ctx, &echo.EchoRequest{Message: "x"})
	return err
}

// p99 returns the 99th percentile of the latencies since the last call
// and forgets them.
func (g *loadgen) p99() time.Duration {
	g.mu.Lock()
	lat := g.lat
	g.lat = nil
	g.mu.Unlock()
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100]
}

// restarter restarts the second server every cfg.Restart.
type restarter struct {
	cfg      *Config
	mem      registry.Registry
	addr     string
	mu       sync.Mutex
	svr      *server.Server
	restarts int
	errs     []string
}

func (r *restarter) start() error {
	var err error
	for try := 0; try < 50; try++ { // the port may take a moment to come free
		var svr *server.Server
		svr, err = newServer(r.addr, r.cfg.Engine, slog.New(slog.DiscardHandler), server.WithRegistry(r.mem, nil))
		if err != nil {
			return err
		}
		if err = svr.Start(); err == nil {
			r.mu.Lock()
			r.svr = svr
			r.addr = svr.Addr().String()
			r.mu.Unlock()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

func (r *restarter) stop() {
	r.mu.Lock()
	svr := r.svr
	r.mu.Unlock()
	if svr != nil {
		if err := svr.Stop(); err != nil {
			r.mu.Lock()
			r.errs = append(r.errs, "second server's Stop: "+err.Error())
			r.mu.Unlock()
		}
	}
}

func (r *restarter) run(done <-chan struct{}) {
	if r.cfg.Restart < 0 {
		return
	}
	t := time.NewTicker(r.cfg.Restart)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		r.stop()
		if err := r.start(); err != nil {
			r.mu.Lock()
			r.errs = append(r.errs, "second server's restart: "+err.Error())
			r.mu.Unlock()
			return
		}
		r.mu.Lock()
		r.restarts++
		r.mu.Unlock()
	}
}

// Run runs the soak: it starts the measured server process and a second
// server in this process (restarted every cfg.Restart), both found by the
// clients through an in-memory registry; calls the mix of [loadgen.call]
// at cfg.Rate for cfg.Duration while sampling the measured server every
// cfg.Sample; then closes the clients, waits for the server's goroutines
// and descriptors to come back to their baseline, and checks the RSS
// drift and the errors. The error is for a run that could not be made;
// the checks' failures are in the Report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	if cfg.Server == nil {
		return nil, errors.New("soak: Config.Server is required")
	}
	ch, err := startChild(cfg.Server())
	if err != nil {
		return nil, err
	}
	defer func() {
		if ch.cmd.ProcessState == nil {
			ch.kill()
		}
	}()
	rep := &Report{}
	if rep.Baseline, err = baseline(ch); err != nil {
		return nil, err
	}
	mem := registrytest.NewMemory()
	tcpA, err := net.ResolveTCPAddr("tcp", ch.addr)
	if err != nil {
		return nil, err
	}
	infoA := &registry.Info{Services: []string{echo.ServiceInfo().Name, greeterpb.GreeterServiceInfo().Name}, Addr: tcpA}
	if err := mem.Register(infoA); err != nil {
		return nil, err
	}
	rs := &restarter{cfg: &cfg, mem: mem, addr: "127.0.0.1:0"}
	if err := rs.start(); err != nil {
		return nil, err
	}
	defer rs.stop()

	g := &loadgen{cfg: &cfg, mem: mem, hostile: ch.addr}
	if err := g.dial(); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "soak: measured server pid %d at %s, second server at %s (restarts every %v), %v at %d calls/s, warm-up %v\n",
		ch.cmd.Process.Pid, ch.addr, rs.addr, cfg.Restart, cfg.Duration, cfg.Rate, cfg.Warmup)
	fmt.Fprintf(cfg.Out, "baseline: rss %.1f MB, goroutines %d, fds %d\n", mb(rep.Baseline.RSS), rep.Baseline.Goroutines, rep.Baseline.FDs)

	done := make(chan struct{})
	var wg sync.WaitGroup
	var tick <-chan time.Time
	if cfg.Rate > 0 {
		tk := time.NewTicker(time.Second / time.Duration(cfg.Rate))
		defer tk.Stop()
		tick = tk.C
	}
	var seq atomic.Int64
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if tick != nil {
					select {
					case <-done:
						return
					case <-tick:
					}
				} else {
					select {
					case <-done:
						return
					default:
					}
				}
				g.call(ctx, int(seq.Add(1)))
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); rs.run(done) }()

	began := time.Now()
	sampler := time.NewTicker(cfg.Sample)
	end := time.NewTimer(cfg.Duration)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end.C:
			break loop
		case <-sampler.C:
			s, err := ch.sample()
			if err != nil {
				close(done)
				wg.Wait()
				return nil, err
			}
			p := Point{At: time.Since(began).Round(time.Second), Sample: s, Calls: g.calls.Load(), Unexpected: g.unexp.Load(), P99: g.p99()}
			rep.Samples = append(rep.Samples, p)
			if p.At > cfg.Warmup && p.P99 > rep.P99 {
				rep.P99 = p.P99
			}
			fmt.Fprintf(cfg.Out, "%6v rss %6.1f MB heap %6.1f MB goroutines %5d fds %4d | calls %8d unexpected %d p99 %v\n",
				p.At, mb(s.RSS), mb(int64(s.HeapInuse)), s.Goroutines, s.FDs, p.Calls, p.Unexpected, p.P99.Round(10*time.Microsecond))
		}
	}
	sampler.Stop()
	end.Stop()
	close(done)
	wg.Wait()
	g.close()
	rs.mu.Lock()
	rep.Restarts = rs.restarts
	restartErrs := rs.errs
	rs.mu.Unlock()
	rep.Calls, rep.Expected, rep.Unexpected, rep.Examples = g.calls.Load(), g.exp.Load(), g.unexp.Load(), g.examples
	rep.Examples = append(rep.Examples, restartErrs...)
	rep.Unexpected += int64(len(restartErrs))

	// Back to the baseline once the clients are gone: the server closes
	// their connections and its idle workers end.
	settle := time.Now().Add(cfg.Settle)
	for {
		if rep.Final, err = ch.sample(); err != nil {
			return nil, err
		}
		if rep.Final.Goroutines <= rep.Baseline.Goroutines+cfg.GoroutineSlack && rep.Final.FDs <= rep.Baseline.FDs+cfg.FDSlack ||
			time.Now().After(settle) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := ch.stop(); err != nil {
		rep.Failures = append(rep.Failures, err.Error())
	}
	rep.check(&cfg)
	rep.print(cfg.Out, &cfg)
	return rep, nil
}

// baseline primes the measured server with one call on each protocol
// (its engine sets up its pollers on first use), lets its idle workers
// end, and samples it.
func baseline(ch *child) (Sample, error) {
	log := slog.New(slog.DiscardHandler)
	ec, err := client.New(echo.ServiceInfo(), client.WithHostPorts(ch.addr), client.WithLogger(log),
		client.WithTransport(ttheader.TTHeader))
	if err != nil {
		return Sample{}, err
	}
	gc, err := client.New(greeterpb.GreeterServiceInfo(), client.WithHostPorts(ch.addr), client.WithLogger(log),
		client.WithStreamTransport(h2transport.New()), client.WithStreamCodec(grpccodec.Default))
	if err != nil {
		_ = ec.Close()
		return Sample{}, err
	}
	_, err = echo.NewClient(ec).Echo(context.Background(), &echo.EchoRequest{Message: "prime"})
	if err == nil {
		_, err = greeterpb.NewGreeterSkiffClient(gc).SayHello(context.Background(), &greeterpb.HelloRequest{Name: "prime"})
	}
	_ = ec.Close()
	_ = gc.Close()
	if err != nil {
		return Sample{}, fmt.Errorf("soak: priming call: %w", err)
	}
	time.Sleep(2 * time.Second) // idle workers end after 1 s
	return ch.sample()
}

// check fills in the drift and the failures.
func (r *Report) check(cfg *Config) {
	var after []Point
	for _, p := range r.Samples {
		if p.At > cfg.Warmup {
			after = append(after, p)
		}
	}
	if n := len(after) / 3; n > 0 && after[0].RSS > 0 {
		r.RSSWarm, r.RSSEnd = meanRSS(after[:n]), meanRSS(after[len(after)-n:])
		r.Drift = float64(r.RSSEnd-r.RSSWarm) / float64(r.RSSWarm)
		if r.Drift > cfg.MaxDrift {
			r.Failures = append(r.Failures, fmt.Sprintf("RSS grew %.1f %% after the warm-up (%.1f to %.1f MB), more than %.1f %%",
				100*r.Drift, mb(r.RSSWarm), mb(r.RSSEnd), 100*cfg.MaxDrift))
		}
	} else {
		r.Failures = append(r.Failures, fmt.Sprintf("only %d samples after the warm-up: no RSS drift measured", len(after)))
	}
	if r.Final.Goroutines > r.Baseline.Goroutines+cfg.GoroutineSlack {
		r.Failures = append(r.Failures, fmt.Sprintf("%d goroutines after the load, %d before", r.Final.Goroutines, r.Baseline.Goroutines))
	}
	if r.Final.FDs > r.Baseline.FDs+cfg.FDSlack {
		r.Failures = append(r.Failures, fmt.Sprintf("%d open descriptors after the load, %d before", r.Final.FDs, r.Baseline.FDs))
	}
	if r.Unexpected > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d unexpected errors, such as %s", r.Unexpected, strings.Join(r.Examples, "; ")))
	}
}

func meanRSS(ps []Point) int64 {
	var sum int64
	for _, p := range ps {
		sum += p.RSS
	}
	return sum / int64(len(ps))
}

func (r *Report) print(w io.Writer, cfg *Config) {
	fmt.Fprintf(w, "calls %d (%d failed as meant: timeouts, cancellations, declared exceptions), unexpected errors %d, second server restarted %d times\n",
		r.Calls, r.Expected, r.Unexpected, r.Restarts)
	fmt.Fprintf(w, "RSS after warm-up %.1f MB, at the end %.1f MB: drift %+.2f %% (limit %.0f %%); worst p99 after warm-up %v\n",
		mb(r.RSSWarm), mb(r.RSSEnd), 100*r.Drift, 100*cfg.MaxDrift, r.P99.Round(10*time.Microsecond))
	fmt.Fprintf(w, "goroutines %d -> %d, fds %d -> %d (baseline -> after the load)\n",
		r.Baseline.Goroutines, r.Final.Goroutines, r.Baseline.FDs, r.Final.FDs)
	if r.OK() {
		fmt.Fprintln(w, "PASS")
		return
	}
	for _, f := range r.Failures {
		fmt.Fprintln(w, "FAIL:", f)
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
