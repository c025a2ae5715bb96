package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skiffrpc/skiff/breaker"
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/status"
)

// A suite goes to a client as one option; both levels are then active.
func ExampleNewSuite() {
	b := breaker.NewSuite(
		breaker.WithServiceConfig(breaker.Config{ErrorRate: 0.5, MinSamples: 100, OpenTimeout: 10 * time.Second}),
		breaker.WithInstanceConfig(breaker.Config{MinSamples: 20}),
		breaker.WithStateChangeHandler(func(ev breaker.Event) {
			fmt.Printf("%s breaker %s: %s -> %s\n", ev.Level, ev.Key, ev.From, ev.To)
		}),
	)
	opts := []client.Option{client.WithHostPorts("127.0.0.1:8888"), client.WithSuite(b)}
	fmt.Println(len(opts), "client options")
	// Output:
	// 2 client options
}

// The service-level breaker trips once the error rate over the window
// reaches the threshold, and then fails calls fast.
func ExampleSuite_ServiceMiddleware() {
	b := breaker.NewSuite(
		breaker.WithServiceConfig(breaker.Config{MinSamples: 4, OpenTimeout: time.Hour}),
		breaker.WithLogger(quiet),
		breaker.WithStateChangeHandler(func(ev breaker.Event) {
			fmt.Printf("%s: %s -> %s\n", ev.Key, ev.From, ev.To)
		}),
	)
	// An endpoint whose callee times out, standing for the rest of a client.
	ep := b.ServiceMiddleware()(func(ctx context.Context, req, resp any) error {
		return status.Wrap(status.ErrTimeout, "no reply", nil)
	})
	ci := callinfo.NewCall(context.Background())
	ci.Caller, ci.Service, ci.Method = "web", "EchoService", "Echo"
	for i := 1; i <= 6; i++ {
		err := ep(ci, nil, nil)
		fmt.Println(i, errors.Is(err, status.ErrTimeout), errors.Is(err, status.ErrCircuitOpen))
	}
	fmt.Println(b.ServiceState(breaker.ServiceKey{Caller: "web", Service: "EchoService", Method: "Echo"}))
	// Output:
	// 1 true false
	// 2 true false
	// 3 true false
	// web/EchoService/Echo: closed -> open
	// 4 true false
	// 5 false true
	// 6 false true
	// open
}

// Per-key configs change at run time.
func ExampleSuite_UpdateServiceConfig() {
	b := breaker.NewSuite(breaker.WithLogger(quiet))
	k := breaker.ServiceKey{Caller: "web", Service: "EchoService", Method: "Echo"}
	b.UpdateServiceConfig(k, breaker.Config{ErrorRate: 0.2, MinSamples: 50})
	b.UpdateInstanceConfig("127.0.0.1:8888", breaker.Config{Disabled: true})
	fmt.Println(b.ServiceState(k), b.InstanceState("127.0.0.1:8888"))
	// Output:
	// closed closed
}

// The instance-level breakers wrap the client's balancer: an instance
// whose breaker opened is passed over, and when every instance is open
// the pick fails with ErrCircuitOpen.
func ExampleSuite_WrapBalancer() {
	b := breaker.NewSuite(breaker.WithLogger(quiet),
		breaker.WithInstanceConfig(breaker.Config{MinSamples: 2, OpenTimeout: time.Hour}))
	// client.New(svc, client.WithBalancerWrapper(b.WrapBalancer)) does this:
	bal := b.WrapBalancer(loadbalance.NewWeightedRoundRobin())
	p := bal.Picker(discovery.Result{Instances: []discovery.Instance{
		discovery.NewInstance("tcp", "10.0.0.1:8888", 0, nil),
		discovery.NewInstance("tcp", "10.0.0.2:8888", 0, nil),
	}})
	// One attempt, as the client makes it: pick, call, report the outcome.
	try := func(down string) {
		ci := callinfo.NewCall(context.Background())
		ctx, _ := ci.StartAttempt(ci)
		in, err := p.(loadbalance.ErrorPicker).Pick(ctx)
		if err != nil {
			fmt.Println("pick:", errors.Is(err, status.ErrCircuitOpen))
			return
		}
		var callErr error
		if in.Address() == down || down == "all" {
			callErr = status.Wrap(status.ErrConnect, "connection refused", nil)
		}
		p.(loadbalance.Feedback).Done(ctx, in, loadbalance.DoneInfo{Err: callErr})
		fmt.Println(in.Address(), callErr == nil)
	}
	for range 6 {
		try("10.0.0.2:8888")
	}
	// Instance 1 has four successes: four failures make 50 %.
	for range 5 {
		try("all")
	}
	// Output:
	// 10.0.0.1:8888 true
	// 10.0.0.2:8888 false
	// 10.0.0.1:8888 true
	// 10.0.0.2:8888 false
	// 10.0.0.1:8888 true
	// 10.0.0.1:8888 true
	// 10.0.0.1:8888 false
	// 10.0.0.1:8888 false
	// 10.0.0.1:8888 false
	// 10.0.0.1:8888 false
	// pick: true
}
