package consul_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/registrytest"
	consul "github.com/skiffrpc/skiff/registry-consul"
	"github.com/skiffrpc/skiff/registry-consul/consultest"
)

var quiet = slog.New(slog.DiscardHandler)

func agentPair(t *testing.T, a *consultest.Agent, opts ...consul.Option) (*consul.Registry, *consul.Resolver) {
	t.Helper()
	opts = append([]consul.Option{consul.WithAddress(a.HTTPAddr), consul.WithLogger(quiet)}, opts...)
	reg, err := consul.NewRegistry(opts...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := consul.NewResolver(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = reg.Close()
		_ = res.Close()
	})
	return reg, res
}

// Show 1: the registry conformance kit passes against a real agent.
func TestConformance(t *testing.T) {
	a := consultest.Start(t)
	registrytest.Run(t, registrytest.Params{
		New: func(t *testing.T) (registry.Registry, discovery.Resolver) {
			reg, res := agentPair(t, a)
			return reg, res
		},
		Settle: 30 * time.Second,
	})
}

// listen returns a loopback listener closed when the test ends.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// A TTL check that stops being fed goes critical and the instance leaves
// the watch; a dev agent that restarts empty gets the instance back from
// the heartbeat's re-registration.
func TestAgentCheckAndForget(t *testing.T) {
	a := consultest.Start(t)
	l := &logs{}
	reg, res := agentPair(t, a, consul.WithTTL(time.Second), consul.WithBackoff(50*time.Millisecond, 500*time.Millisecond),
		consul.WithLogger(slog.New(l)))
	ln1, ln2 := listen(t), listen(t)
	i1 := &registry.Info{ServiceName: "forget", Addr: ln1.Addr()}
	i2 := &registry.Info{ServiceName: "forget", Addr: ln2.Addr()}
	for _, i := range []*registry.Info{i1, i2} {
		if err := reg.Register(i); err != nil {
			t.Fatal(err)
		}
	}
	w := newWatcher()
	stop, err := res.Watch("forget", w.update)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	both := sortedAddrs(ln1, ln2)
	w.awaitSet(t, both)

	// A second registry whose heartbeat dies (as a crashed process's).
	crashed, err := consul.NewRegistry(consul.WithAddress(a.HTTPAddr), consul.WithTTL(time.Second), consul.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ln3 := listen(t)
	if err := crashed.Register(&registry.Info{ServiceName: "forget", Addr: ln3.Addr()}); err != nil {
		t.Fatal(err)
	}
	w.awaitSet(t, sortedAddrs(ln1, ln2, ln3))
	consul.StopHeartbeat(crashed)
	start := time.Now()
	w.awaitSet(t, both)
	t.Logf("instance without heartbeat left the watch %v after its last heartbeat stopped (TTL 1s)", time.Since(start).Round(time.Millisecond))

	// The dev agent restarts empty: the registrations come back by
	// themselves.
	a.Stop()
	a.Restart()
	a.WaitLeader(60 * time.Second)
	// A fresh resolver (no watch, no cache) asks the new agent.
	_, fresh := agentPair(t, a)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r2, err := fresh.Resolve(context.Background(), "forget")
		if err == nil && len(r2.Instances) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the agent restart: %d instances, %v", len(r2.Instances), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if l.find("registered again") == "" {
		t.Fatal("no re-registration logged")
	}
	// The watch follows the new agent (its index went back to a new
	// cluster's).
	w.awaitSet(t, both)
}

// Tag and datacenter filters, stale reads and Meta against a real agent.
func TestAgentFilters(t *testing.T) {
	a := consultest.Start(t)
	reg, _ := agentPair(t, a, consul.WithProtocol("ttheader"))
	ln1, ln2 := listen(t), listen(t)
	for i, ln := range []net.Listener{ln1, ln2} {
		zone := []string{"z1", "z2"}[i]
		if err := reg.Register(&registry.Info{ServiceName: "filters", Addr: ln.Addr(), Weight: 3 + i,
			Tags: map[string]string{"zone": zone}}); err != nil {
			t.Fatal(err)
		}
	}
	_, z1 := agentPair(t, a, consul.WithTags("zone=z1"), consul.WithStale(true))
	res, err := z1.Resolve(context.Background(), "filters")
	if err != nil || len(res.Instances) != 1 || res.Instances[0].Address() != ln1.Addr().String() {
		t.Fatalf("zone=z1: %v, %v", res.Instances, err)
	}
	in := res.Instances[0]
	if p, _ := in.Tag("protocol"); p != "ttheader" || in.Weight() != 3 {
		t.Fatalf("protocol %q weight %d", p, in.Weight())
	}
	_, all := agentPair(t, a, consul.WithDatacenter("dc1"))
	if res, err := all.Resolve(context.Background(), "filters"); err != nil || len(res.Instances) != 2 {
		t.Fatalf("dc1: %v, %v", res.Instances, err)
	}
	_, other := agentPair(t, a, consul.WithDatacenter("nowhere"))
	if _, err := other.Resolve(context.Background(), "filters"); err == nil || !strings.Contains(err.Error(), "No path to datacenter") {
		t.Fatalf("unknown datacenter: %v", err)
	}
}
