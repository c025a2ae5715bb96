package retry_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/retry"
)

// A Retryer is a client.Suite: a client installs it with WithSuite. Here
// Get is retried on timeouts and Unavailable, up to 3 attempts with a
// jittered exponential backoff, and sends a backup request when the
// reply is slower than the 95th percentile of recent calls.
func Example() {
	r := retry.New(
		retry.WithIdempotent("Get"),
		retry.WithMethodPolicy("Get", retry.Policy{
			MaxAttempts:      3,
			MaxDuration:      time.Second,
			Backoff:          retry.ExponentialBackoff(5*time.Millisecond, 100*time.Millisecond, 1),
			Codes:            []status.Code{status.Unavailable},
			BackupPercentile: 0.95,
		}),
	)
	cli, err := client.New(svc(), client.WithHostPorts("127.0.0.1:8888", "127.0.0.1:8889"),
		client.WithRPCTimeout(200*time.Millisecond), client.WithSuite(r))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	p, _ := r.Policy("Get")
	fmt.Println(p.MaxAttempts, p.BackupPercentile, p.Budget.Ratio)
	// Output: 3 0.95 0.1
}

// Policies change at run time: calls that start afterwards use the new
// one. A per-call option overrides the method's policy for one call.
func ExampleRetryer_SetPolicy() {
	r := retry.New(retry.WithMethodPolicy(retry.AnyMethod, retry.Policy{MaxAttempts: 2}))
	r.SetPolicy("Get", retry.Policy{MaxAttempts: 4})
	get, _ := r.Policy("Get")
	put, _ := r.Policy("Put") // falls back to AnyMethod
	fmt.Println(get.MaxAttempts, put.MaxAttempts)

	// For one call: cli.Call(ctx, "Get", args, result, retry.WithPolicy(retry.Policy{MaxAttempts: 5}))
	_ = retry.WithPolicy(retry.Policy{MaxAttempts: 5})
	// Output: 4 2
}

// The waits of an exponential backoff without jitter.
func ExampleExponentialBackoff() {
	b := retry.ExponentialBackoff(10*time.Millisecond, 50*time.Millisecond, 0)
	for n := 1; n <= 4; n++ {
		fmt.Println(b.Delay(n))
	}
	// Output:
	// 10ms
	// 20ms
	// 40ms
	// 50ms
}

// A fallback answers for a call that failed after its retries.
func ExampleWithFallback() {
	r := retry.New(retry.WithFallback(func(ctx context.Context, req, resp any, err error) error {
		if status.CodeOf(err) == status.Unavailable {
			resp.(*Bytes).B = []byte("cached answer")
			return nil
		}
		return err
	}))
	_ = r
	fmt.Println("installed")
	// Output: installed
}

// A failure retry on a real server on loopback: the first attempt gets
// Unavailable, the retry succeeds.
func Example_failureRetry() {
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet))
	var n atomic.Int32
	var h handler = func(ctx context.Context, method string, in []byte) ([]byte, error) {
		if n.Add(1) == 1 {
			return nil, status.New(status.Unavailable, "warming up")
		}
		return in, nil
	}
	if err := svr.RegisterService(svc(), h); err != nil {
		fmt.Println(err)
		return
	}
	if err := svr.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer svr.Stop()

	r := retry.New(retry.WithIdempotent("Get"),
		retry.WithMethodPolicy("Get", retry.Policy{Codes: []status.Code{status.Unavailable}}))
	cli, err := client.New(svc(), client.WithHostPorts(svr.Addr().String()), client.WithSuite(r), client.WithLogger(quiet))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	var out Bytes
	err = cli.Call(context.Background(), "Get", &Bytes{B: []byte("hello")}, &out)
	st := r.Stats()
	fmt.Println(string(out.B), err, st.Calls, st.Retries, n.Load())
	// Output: hello <nil> 1 1 2
}
