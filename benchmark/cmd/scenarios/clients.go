package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	kclient "github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/circuitbreak"
	"github.com/cloudwego/kitex/pkg/connpool"
	kendpoint "github.com/cloudwego/kitex/pkg/endpoint"
	kretry "github.com/cloudwego/kitex/pkg/retry"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	ktransport "github.com/cloudwego/kitex/transport"

	kecho "github.com/skiffrpc/skiff/benchmark/kitex_gen/echo"
	kechosvc "github.com/skiffrpc/skiff/benchmark/kitex_gen/echo/echoservice"
	"github.com/skiffrpc/skiff/breaker"
	"github.com/skiffrpc/skiff/core/callinfo"
	skiffclient "github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
	"github.com/skiffrpc/skiff/loadbalance"
	"github.com/skiffrpc/skiff/retry"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// rpcTimeout bounds every attempt, for both frameworks (the frozen
// instance scenario's 100 ms).
const rpcTimeout = 100 * time.Millisecond

// bucket is the width of the attempt-count time buckets.
const bucket = 100 * time.Millisecond

const maxBuckets = 600 // 60 s

// attempts counts attempts per instance address and 100 ms bucket, on the
// client side (an instance middleware: after the pick, before the dial),
// and how many of them failed.
type attempts struct {
	start time.Time
	index map[string]int // address -> row; read-only once built
	tries [][maxBuckets]atomic.Int64
	fails [][maxBuckets]atomic.Int64
}

func newAttempts(addrs []string, start time.Time) *attempts {
	a := &attempts{start: start, index: map[string]int{},
		tries: make([][maxBuckets]atomic.Int64, len(addrs)),
		fails: make([][maxBuckets]atomic.Int64, len(addrs))}
	for i, ad := range addrs {
		a.index[ad] = i
	}
	return a
}

func (a *attempts) begin(addr string) (row, b int) {
	row, ok := a.index[addr]
	if !ok {
		return -1, 0
	}
	b = min(int(time.Since(a.start)/bucket), maxBuckets-1)
	a.tries[row][b].Add(1)
	return row, b
}

func (a *attempts) end(row, b int, err error) {
	if row >= 0 && err != nil {
		a.fails[row][b].Add(1)
	}
}

// count sums the attempts to addr in [from, to) since start.
func (a *attempts) count(addr string, from, to time.Duration) (tries, fails int64) {
	row, ok := a.index[addr]
	if !ok {
		return 0, 0
	}
	for b := int(from / bucket); b < int(to/bucket) && b < maxBuckets; b++ {
		tries += a.tries[row][b].Load()
		fails += a.fails[row][b].Load()
	}
	return tries, fails
}

// caller is one configured client.
type caller interface {
	call(ctx context.Context, seq int64) error
	stats() map[string]any
	close()
}

// config is one client configuration of the comparison.
type config struct {
	Name      string `json:"name"`
	Framework string `json:"framework"`
	Desc      string `json:"description"`
	build     func(addrs []string, at *attempts) (caller, error)
}

var configs = []config{
	{Name: "skiff-plain", Framework: "skiff",
		Desc:  "core defaults: smooth weighted round robin, no retry policy (core itself balances a call whose connection is refused once more), no breaker",
		build: buildSkiffPlain},
	{Name: "skiff-recommended", Framework: "skiff",
		Desc:  "the recommended policy: Echo marked idempotent, retry.Policy{BackupPercentile: 0.95, Codes: [Unavailable], Circuit: 50 % over 2 s} (mixed: backup request at the p95 of recent latency + failure retry of timeouts, lost connections and Unavailable; 3 attempts; budget 10 % + 2/s, burst 100) + loadbalance.NewP2C() + loadbalance.NewOutlierDetector(), all with their defaults otherwise",
		build: buildSkiffRecommended},
	{Name: "skiff-rec+breaker", Framework: "skiff",
		Desc:  "skiff-recommended plus breaker's instance level with its defaults (50 % errors over 10 s, 200 samples, open 5 s), which the recommendation leaves out",
		build: buildSkiffRecBreaker},
	{Name: "kitex-plain", Framework: "kitex",
		Desc:  "Kitex defaults: weighted random, no retry, no breaker",
		build: kitexBuilder(nil)},
	{Name: "kitex-failure", Framework: "kitex",
		Desc: "failure retry (2 retries, timeouts and every error, default retry breaker at 10 %) + Kitex's instance circuit breaker (circuitbreak.NewCBSuite(...).InstanceCBMW())",
		build: kitexBuilder(func() []kclient.Option {
			fp := kretry.NewFailurePolicyWithResultRetry(kretry.AllErrorRetry())
			return []kclient.Option{kclient.WithFailureRetry(fp), kitexCB()}
		})},
	{Name: "kitex-backup", Framework: "kitex",
		Desc: "backup request after 2 ms (about the healthy p95; Kitex takes whole ms) + instance circuit breaker",
		build: kitexBuilder(func() []kclient.Option {
			return []kclient.Option{kclient.WithBackupRequest(kretry.NewBackupPolicy(2)), kitexCB()}
		})},
	{Name: "kitex-mixed", Framework: "kitex",
		Desc: "mixed retry (backup after 2 ms + failure retry of every error, 2 retries, retry breaker at 10 %) + instance circuit breaker: the closest to Skiff's recommended policy",
		build: kitexBuilder(func() []kclient.Option {
			mp := kretry.NewMixedPolicyWithResultRetry(2, kretry.AllErrorRetry())
			return []kclient.Option{kclient.WithMixedRetry(mp), kitexCB()}
		})},
}

// kitexCB is Kitex's instance-level circuit breaker alone (its defaults:
// 50 % errors over at least 200 calls in 10 s), the closest to what Skiff's
// recommended policy has; client.WithCircuitBreaker would add the service
// level too. It comes before the attempt counter, so its rejections are not
// counted as attempts.
func kitexCB() kclient.Option {
	return kclient.WithInstanceMW(circuitbreak.NewCBSuite(circuitbreak.RPCInfo2Key).InstanceCBMW())
}

// --- Skiff ---

type skiffCaller struct {
	cli    *skiffclient.Client
	stub   *echo.Client
	retry  *retry.Retryer
	detect *loadbalance.OutlierDetector
	brk    *breaker.Suite
}

func skiffOptions(addrs []string, at *attempts) []skiffclient.Option {
	return []skiffclient.Option{
		skiffclient.WithHostPorts(addrs...),
		skiffclient.WithTransport(ttheader.TTHeaderFramed),
		skiffclient.WithRPCTimeout(rpcTimeout),
		skiffclient.WithLongConnection(skiffclient.PoolConfig{
			MaxIdlePerAddress: 64, MaxIdleGlobal: 512, MaxIdleTimeout: time.Minute,
		}),
		skiffclient.WithInstanceMiddleware(func(next endpoint.Endpoint) endpoint.Endpoint {
			return func(ctx context.Context, req, resp any) error {
				row, b := -1, 0
				if a := callinfo.AttemptFrom(ctx); a != nil {
					row, b = at.begin(a.Address)
				}
				err := next(ctx, req, resp)
				at.end(row, b, err)
				return err
			}
		}),
	}
}

func buildSkiffPlain(addrs []string, at *attempts) (caller, error) {
	cli, err := skiffclient.New(echo.ServiceInfo(), skiffOptions(addrs, at)...)
	if err != nil {
		return nil, err
	}
	return &skiffCaller{cli: cli, stub: echo.NewClient(cli)}, nil
}

// recommendedPolicy is the retry policy the retry module's README
// recommends for idempotent methods: mixed (a backup request at the p95 of
// recent latency, and failure retry of timeouts, lost connections and
// Unavailable), 3 attempts, a budget of 10 % of calls + 2/s with a burst
// of 100, and a retry circuit that stops retries while half the attempts
// of the last 2 s failed.
func recommendedPolicy() retry.Policy {
	return retry.Policy{
		MaxAttempts:      3,
		BackupPercentile: 0.95,
		BackupDelay:      5 * time.Millisecond, // until 20 latencies are known
		Codes:            []status.Code{status.Unavailable},
		Circuit:          &retry.Circuit{ErrorRate: 0.5, Window: 2 * time.Second},
		// The default ratio and minimum rate (10 % + 2/s), with room for a
		// burst of 100: hedges at p95 spend about half of the ratio, and
		// a burst of 10 left a lost connection's retry without a token.
		Budget: retry.Budget{Burst: cmp.Or(budgetBurst, 100)},
	}
}

// budgetBurst, when set (flag -budget-burst), replaces the retry budget's
// burst of skiff-recommended.
var budgetBurst float64

// p2cDecay, when set (flag -p2c-decay), replaces P2C's decay time.
var p2cDecay time.Duration

func p2cOptions() []loadbalance.P2COption {
	if p2cDecay > 0 {
		return []loadbalance.P2COption{loadbalance.WithDecay(p2cDecay)}
	}
	return nil
}

func buildSkiffRecommended(addrs []string, at *attempts) (caller, error) {
	r := retry.New(retry.WithIdempotent("Echo"), retry.WithMethodPolicy("Echo", recommendedPolicy()))
	d := loadbalance.NewOutlierDetector()
	opts := append(skiffOptions(addrs, at),
		skiffclient.WithLoadBalancer(loadbalance.NewP2C(p2cOptions()...)), d.Option(), skiffclient.WithSuite(r))
	cli, err := skiffclient.New(echo.ServiceInfo(), opts...)
	if err != nil {
		return nil, err
	}
	return &skiffCaller{cli: cli, stub: echo.NewClient(cli), retry: r, detect: d}, nil
}

func buildSkiffRecBreaker(addrs []string, at *attempts) (caller, error) {
	r := retry.New(retry.WithIdempotent("Echo"), retry.WithMethodPolicy("Echo", recommendedPolicy()))
	d := loadbalance.NewOutlierDetector()
	b := breaker.NewSuite(breaker.WithLogger(slog.New(slog.DiscardHandler)))
	opts := append(skiffOptions(addrs, at),
		skiffclient.WithLoadBalancer(loadbalance.NewP2C(p2cOptions()...)), d.Option(),
		skiffclient.WithBalancerWrapper(b.WrapBalancer), skiffclient.WithSuite(r))
	cli, err := skiffclient.New(echo.ServiceInfo(), opts...)
	if err != nil {
		return nil, err
	}
	return &skiffCaller{cli: cli, stub: echo.NewClient(cli), retry: r, detect: d, brk: b}, nil
}

func (c *skiffCaller) call(ctx context.Context, seq int64) error {
	resp, err := c.stub.Echo(ctx, &echo.EchoRequest{Message: "scenario", Seq: &seq})
	if err == nil && resp.GetSeq() != seq {
		err = fmt.Errorf("reply to %d carries seq %d", seq, resp.GetSeq())
	}
	return err
}

func (c *skiffCaller) stats() map[string]any {
	m := map[string]any{}
	if c.retry != nil {
		m["retry"] = c.retry.Stats()
	}
	if c.detect != nil {
		m["outlier"] = c.detect.Stats()
	}
	if c.brk != nil {
		m["breaker_instance"] = c.brk.Stats(breaker.LevelInstance)
	}
	return m
}

func (c *skiffCaller) close() { c.cli.Close() }

// errorKind names an error for the tables: a Skiff status code, or the
// start of its text.
func errorKind(err error) string {
	var se *status.Error
	if errors.As(err, &se) {
		return se.Code().String()
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// --- Kitex ---

type kitexCaller struct{ cli kechosvc.Client }

func kitexBuilder(extra func() []kclient.Option) func([]string, *attempts) (caller, error) {
	return func(addrs []string, at *attempts) (caller, error) {
		opts := []kclient.Option{
			kclient.WithHostPorts(addrs...),
			kclient.WithTransportProtocol(ktransport.TTHeaderFramed),
			kclient.WithMetaHandler(transmeta.ClientTTHeaderHandler),
			kclient.WithRPCTimeout(rpcTimeout),
			kclient.WithLongConnection(connpool.IdleConfig{
				MaxIdlePerAddress: 64, MaxIdleGlobal: 512, MaxIdleTimeout: time.Minute,
			}),
		}
		if extra != nil {
			opts = append(opts, extra()...)
		}
		opts = append(opts,
			kclient.WithInstanceMW(func(next kendpoint.Endpoint) kendpoint.Endpoint {
				return func(ctx context.Context, req, resp any) error {
					row, b := -1, 0
					if ri := rpcinfo.GetRPCInfo(ctx); ri != nil && ri.To() != nil && ri.To().Address() != nil {
						row, b = at.begin(ri.To().Address().String())
					}
					err := next(ctx, req, resp)
					at.end(row, b, err)
					return err
				}
			}))
		cli, err := kechosvc.NewClient("EchoService", opts...)
		if err != nil {
			return nil, err
		}
		return kitexCaller{cli}, nil
	}
}

func (c kitexCaller) call(ctx context.Context, seq int64) error {
	resp, err := c.cli.Echo(ctx, &kecho.EchoRequest{Message: "scenario", Seq: &seq})
	if err == nil && resp.GetSeq() != seq {
		err = fmt.Errorf("reply to %d carries seq %d", seq, resp.GetSeq())
	}
	return err
}

func (kitexCaller) stats() map[string]any { return nil }
func (kitexCaller) close()                {}
