package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/limiter"
)

// A limiter on a server: at most 1,000 calls in flight, Echo at 1 call a
// second with a burst of 2, at most 100 connections. The third Echo in a
// row is rejected with ErrOverload (the middleware is called directly
// here; on a server, the client gets the same error back on every
// protocol).
func Example() {
	lim := limiter.New(
		limiter.WithLimits(limiter.Limits{Concurrency: 1000}),
		limiter.WithMethodLimits("Echo", limiter.Limits{QPS: 1, Burst: 2}),
		limiter.WithMaxConnections(100),
		limiter.WithLogger(quiet),
	)
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithSuite(lim))
	_ = svr // register services and Start as usual

	handler := func(context.Context, any, any) error { return nil }
	ep := lim.Middleware()(handler)
	ci := callinfo.New(context.Background())
	ci.Method = "Echo"
	for i := range 3 {
		err := ep(ci, nil, nil)
		fmt.Println(i, err == nil, errors.Is(err, status.ErrOverload))
	}
	// Output:
	// 0 true false
	// 1 true false
	// 2 false true
}

// Limits change while the server runs.
func ExampleLimiter_SetMethodLimits() {
	lim := limiter.New(limiter.WithLogger(quiet))
	lim.SetLimits(limiter.Limits{QPS: 5000, Concurrency: 200})
	lim.SetMethodLimits("Echo", limiter.Limits{QPS: 1000})
	lim.SetMethodLimits("Echo", limiter.Limits{}) // removed again
	lim.SetMaxConnections(1000)
	fmt.Printf("%+v\n", lim.Stats())
	// Output:
	// {InFlight:0 Conns:0 RejectedConcurrency:0 RejectedQPS:0 RejectedAdaptive:0 RefusedConns:0 AdaptiveLimit:0 AdaptiveDrop:0}
}

// The adaptive limiter takes no number: it finds the concurrency the
// server sustains from measured latency.
func ExampleWithAdaptive() {
	lim := limiter.New(limiter.WithAdaptive(), limiter.WithLogger(quiet))
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithSuite(lim))
	_ = svr
	fmt.Println(lim.Stats().AdaptiveLimit > 0)
	// Output: true
}

// Client-side throttling: once the server rejects most calls as
// overloaded, the client rejects the excess itself.
func ExampleThrottle() {
	th := limiter.NewThrottle(limiter.WithK(2), limiter.WithWindow(30*time.Second))
	opt := client.WithSuite(th) // pass to client.New
	_ = opt
	fmt.Println(th.Probability())
	// Output: 0
}
