package loadbalance_test

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/discovery"
	lb "github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/loadbalance"
)

func ExampleNewWeightedRandom() {
	a := discovery.NewInstance("tcp", "10.0.0.1:8888", 1, nil)
	b := discovery.NewInstance("tcp", "10.0.0.2:8888", 3, nil)
	p := loadbalance.NewWeightedRandom().Picker(discovery.Result{Instances: []discovery.Instance{a, b}})
	n := 0
	for range 100000 {
		if p.Next(context.Background()) == b {
			n++
		}
	}
	fmt.Printf("weight 3 of 4: about %.0f %% of the calls\n", math.Round(float64(n)/1000/5)*5)
	// Output: weight 3 of 4: about 75 % of the calls
}

func ExampleNewConsistentHash() {
	var ins []discovery.Instance
	for i := 1; i <= 4; i++ {
		ins = append(ins, discovery.NewInstance("tcp", fmt.Sprintf("10.0.0.%d:8888", i), 10, nil))
	}
	b := loadbalance.NewConsistentHash()
	p := b.Picker(discovery.Result{Instances: ins})

	// The client runtime makes this context for each call; client
	// middleware may set the key with SetHashKey, or the caller with the
	// WithHashKey call option.
	ci := callinfo.NewCall(context.Background())
	loadbalance.SetHashKey(ci, "user-42")
	home := p.Next(ci)
	fmt.Println(p.Next(ci) == home, p.Next(ci) == home)

	// Another instance leaves: the key stays where it was.
	var rest []discovery.Instance
	left := false
	for _, in := range ins {
		if in != home && !left {
			left = true // this one leaves
			continue
		}
		rest = append(rest, in)
	}
	fmt.Println(b.Picker(discovery.Result{Instances: rest}).Next(ci) == home)
	// Output:
	// true true
	// true
}

func ExampleNewP2C() {
	fast := discovery.NewInstance("tcp", "10.0.0.1:8888", 10, nil)
	slow := discovery.NewInstance("tcp", "10.0.0.2:8888", 10, nil)
	p := loadbalance.NewP2C().Picker(discovery.Result{Instances: []discovery.Instance{fast, slow}})
	fb := p.(lb.Feedback) // the client calls Done after each attempt
	ctx := context.Background()
	call := func() string {
		in := p.Next(ctx)
		latency := time.Millisecond
		if in == slow {
			latency = 40 * time.Millisecond
		}
		fb.Done(ctx, in, lb.DoneInfo{Latency: latency})
		return in.Address()
	}
	call() // each instance answers once: an instance with no reply yet
	call() // costs nothing while idle
	counts := map[string]int{}
	for range 100 {
		counts[call()]++
	}
	fmt.Println(counts)
	// Output: map[10.0.0.1:8888:100]
}

func ExampleOutlierDetector() {
	d := loadbalance.NewOutlierDetector(
		loadbalance.WithConsecutiveFailures(3),
		loadbalance.WithEjectionBackoff(30*time.Second, 5*time.Minute),
		loadbalance.WithOutlierObserver(func(ev loadbalance.OutlierEvent) {
			fmt.Println(ev.Kind, ev.Address, ev.Reason, ev.Backoff)
		}))
	ins := []discovery.Instance{
		discovery.NewInstance("tcp", "10.0.0.1:8888", 10, nil),
		discovery.NewInstance("tcp", "10.0.0.2:8888", 10, nil),
	}
	// What client.WithBalancerWrapper(d.Wrap) does with the client's
	// balancer.
	p := d.Wrap(lb.NewWeightedRoundRobin()).Picker(discovery.Result{Instances: ins})
	for range 3 {
		p.(lb.Feedback).Done(context.Background(), ins[1], lb.DoneInfo{Err: context.DeadlineExceeded})
	}
	fmt.Println(p.Next(context.Background()).Address(), p.Next(context.Background()).Address())
	fmt.Printf("%+v\n", d.Stats())
	// Output:
	// ejected 10.0.0.2:8888 consecutive_failures 30s
	// 10.0.0.1:8888 10.0.0.1:8888
	// {Ejections:1 Returns:0 Skipped:0 Ejected:1}
}

// A client with P2C and outlier ejection, and a call with a hash key on a
// client using consistent hashing.
func Example_client() {
	var svc *service.Info // a generated ServiceInfo()
	d := loadbalance.NewOutlierDetector()
	cli, err := client.New(svc,
		client.WithHostPorts("127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"),
		client.WithLoadBalancer(loadbalance.NewP2C()),
		d.Option(), // client.WithBalancerWrapper(d.Wrap)
	)
	if err != nil {
		return
	}
	defer cli.Close()

	chash, err := client.New(svc,
		client.WithHostPorts("127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"),
		client.WithLoadBalancer(loadbalance.NewConsistentHash(loadbalance.WithBoundedLoad(1.25))))
	if err != nil {
		return
	}
	defer chash.Close()
	var args, result any // generated XxxArgs and XxxResult
	_ = chash.Call(context.Background(), "GetUser", args, result, loadbalance.WithHashKey("user-42"))
	_ = d.Stats() // ejections, returns, skipped ejections, ejected now
}
