package consul_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/skiffrpc/skiff/core/discovery"
	consul "github.com/skiffrpc/skiff/registry-consul"
)

// consulEntries is a health answer of n instances shaped like a real
// agent's (node, service with Meta and weights, two checks), with the
// instance at port skip left out.
func consulEntries(b testing.TB, n, skip int) []byte {
	entries := make([]*api.ServiceEntry, 0, n)
	for i := range n {
		if i == skip {
			continue
		}
		id := fmt.Sprintf("EchoService@127.0.0.1:%d", 20000+i)
		entries = append(entries, &api.ServiceEntry{
			Node: &api.Node{ID: "2b5a7c29-2b1e-4f5a-9b7e-1f0c2d3e4f5a", Node: "node-1", Address: "127.0.0.1", Datacenter: "dc1",
				TaggedAddresses: map[string]string{"lan": "127.0.0.1", "wan": "127.0.0.1"}, Meta: map[string]string{"consul-network-segment": ""}},
			Service: &api.AgentService{ID: id, Service: "EchoService", Address: "127.0.0.1", Port: 20000 + i,
				Tags: []string{"zone=z1"}, Meta: map[string]string{"weight": "10", "zone": "z1", "protocol": "ttheader"},
				Weights: api.AgentWeights{Passing: 10, Warning: 1}},
			Checks: api.HealthChecks{
				{Node: "node-1", CheckID: "serfHealth", Name: "Serf Health Status", Status: "passing", Output: "Agent alive and reachable"},
				{Node: "node-1", CheckID: "skiff:" + id, Name: "skiff heartbeat", Status: "passing", ServiceID: id, ServiceName: "EchoService"},
			},
		})
	}
	body, err := json.Marshal(entries)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkWatchUpdate200 measures one watch round over loopback HTTP for
// a service of 200 instances: Consul's index moves (one instance comes or
// goes), the blocking query returns, the answer is decoded and converted,
// and the subscriber gets the new set. The CPU per change of the churn
// test in tests/consul, on the client side.
func BenchmarkWatchUpdate200(b *testing.B) {
	f := newFakeB(b)
	bodies := [][]byte{consulEntries(b, 200, -1), consulEntries(b, 200, 7)}
	f.set(200, bodies[0])
	r, err := consul.NewResolver(consul.WithAddress(f.addr()), consul.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	got := make(chan int, 1)
	stop, err := r.Watch("EchoService", func(res discovery.Result) { got <- len(res.Instances) })
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	<-got
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f.set(200, bodies[(i+1)%2])
		<-got
	}
}
