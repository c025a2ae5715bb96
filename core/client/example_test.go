package client_test

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/server"
)

// countingBalancer wraps another balancer; its pickers count the attempts'
// outcomes through the Feedback capability.
type countingBalancer struct {
	loadbalance.Balancer
	ok, failed atomic.Int32
}

type countingPicker struct {
	loadbalance.Picker
	b *countingBalancer
}

func (b *countingBalancer) Picker(res discovery.Result) loadbalance.Picker {
	return countingPicker{b.Balancer.Picker(res), b}
}

func (p countingPicker) Done(_ context.Context, _ discovery.Instance, info loadbalance.DoneInfo) {
	if info.Err != nil {
		p.b.failed.Add(1)
	} else {
		p.b.ok.Add(1)
	}
}

// A module wraps whatever balancer the user chose (here the default) and
// learns the outcome of every attempt.
func ExampleWithBalancerWrapper() {
	svr := server.New(server.WithAddress("127.0.0.1:0"))
	_ = svr.RegisterService(toycodec.Service(), toycodec.Handler(func(_ context.Context, in []byte) ([]byte, error) { return in, nil }))
	if err := svr.Start(); err != nil {
		panic(err)
	}
	defer svr.Stop()

	cb := &countingBalancer{}
	cli, err := client.New(toycodec.Service(), client.WithHostPorts(svr.Addr().String()),
		client.WithBalancerWrapper(func(user loadbalance.Balancer) loadbalance.Balancer {
			cb.Balancer = user
			return cb
		}))
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	for range 3 {
		var out toycodec.Bytes
		_ = cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("hi")}, &out)
	}
	fmt.Println("succeeded:", cb.ok.Load(), "failed:", cb.failed.Load())
	// Output: succeeded: 3 failed: 0
}
