package loadbalance_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/endpoint"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// instance is one echo server on loopback whose behaviour a test changes
// while it runs.
type instance struct {
	addr  string
	svr   *server.Server
	hits  atomic.Int64 // Echo calls served
	delay atomic.Int64 // ns each Echo call sleeps
	fail  atomic.Bool  // Echo returns an Internal error
}

func (in *instance) Echo(ctx context.Context, req *echo.EchoRequest) (*echo.EchoResponse, error) {
	in.hits.Add(1)
	if d := time.Duration(in.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	switch {
	case in.fail.Load():
		return nil, status.New(status.Internal, "instance is sick")
	case req.Message == "biz":
		return nil, status.NewBizError(4001, "quota exceeded")
	}
	return &echo.EchoResponse{Message: req.Message}, nil
}

// Fail throws the declared exception EchoError.
func (in *instance) Fail(context.Context, int32) (*echo.EchoResponse, error) {
	in.hits.Add(1)
	return nil, &echo.EchoError{Code: 7, Reason: "requested failure"}
}

func (in *instance) Notify(context.Context, string) error { return nil }

// startInstances starts n echo servers on 127.0.0.1, stopped at cleanup.
func startInstances(t *testing.T, n int) []*instance {
	t.Helper()
	out := make([]*instance, n)
	for i := range out {
		in := &instance{}
		in.svr = server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
		if err := in.svr.RegisterService(echo.ServiceInfo(), in); err != nil {
			t.Fatal(err)
		}
		if err := in.svr.Start(); err != nil {
			t.Fatal(err)
		}
		in.addr = in.svr.Addr().String()
		t.Cleanup(func() { _ = in.svr.Stop() })
		out[i] = in
	}
	return out
}

func addrs(ins []*instance) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.addr
	}
	return out
}

// attempts counts a client's attempts per address (an instance
// middleware, which runs once per attempt after the pick).
type attempts struct {
	mu sync.Mutex
	m  map[string]int
}

func (a *attempts) middleware() client.Option {
	return client.WithInstanceMiddleware(func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			if at := callinfo.AttemptFrom(ctx); at != nil {
				a.mu.Lock()
				if a.m == nil {
					a.m = map[string]int{}
				}
				a.m[at.Address]++
				a.mu.Unlock()
			}
			return next(ctx, req, resp)
		}
	})
}

func (a *attempts) get(addr string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m[addr]
}

// newClient returns an echo client over TTHeader (which carries business
// errors) to the instances, stopped at cleanup.
func newClient(t *testing.T, ins []*instance, opts ...client.Option) *echo.Client {
	t.Helper()
	cli, err := client.New(echo.ServiceInfo(), append([]client.Option{
		client.WithHostPorts(addrs(ins)...),
		client.WithTransport(ttheader.TTHeaderFramed),
		client.WithRPCTimeout(5 * time.Second),
		client.WithLogger(quiet),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return echo.NewClient(cli)
}

// load makes calls from workers goroutines until total calls have been
// made, and returns the errors.
func load(ec *echo.Client, workers, total int, opts ...client.CallOption) []error {
	errs, _ := timedLoad(ec, workers, total, opts...)
	return errs
}

// timedLoad is load that also returns the calls' latencies, sorted.
func timedLoad(ec *echo.Client, workers, total int, opts ...client.CallOption) ([]error, []time.Duration) {
	var (
		next atomic.Int64
		mu   sync.Mutex
		errs []error
		lat  []time.Duration
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				start := time.Now()
				_, err := ec.Echo(context.Background(), &echo.EchoRequest{Message: "hi"}, opts...)
				d := time.Since(start)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return errs, lat
}

// percentile returns the p-th percentile (0 to 100) of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p/100))]
}

func isBiz(err error) bool {
	var be *status.BizError
	return errors.As(err, &be)
}
