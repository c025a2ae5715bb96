package consul_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/skiffrpc/skiff/core/registry"
	consul "github.com/skiffrpc/skiff/registry-consul"
	"github.com/skiffrpc/skiff/registry-consul/consultest"
)

// checkedRegistry checks, when Deregister returns, that the instance has
// left Consul while its listener still accepts connections.
type checkedRegistry struct {
	*consul.Registry
	t     *testing.T
	res   *consul.Resolver // a second resolver, not watching: asks Consul
	ok    chan bool
	ready bool
}

func (c *checkedRegistry) Deregister(info *registry.Info) error {
	err := c.Registry.Deregister(info)
	if !c.ready {
		return err
	}
	addr := info.Addr.String()
	res, rerr := c.res.Resolve(context.Background(), info.ServiceName)
	gone := rerr == nil
	for _, in := range res.Instances {
		if in.Address() == addr {
			gone = false
		}
	}
	conn, derr := net.DialTimeout("tcp", addr, time.Second)
	if derr == nil {
		_ = conn.Close()
	}
	if !gone || derr != nil {
		c.t.Errorf("at Deregister's return: instance still in Consul %v (resolve err %v); dial error %v", !gone, rerr, derr)
	}
	c.ok <- gone && derr == nil
	return err
}

// checkStatus returns the status of the skiff check of serviceID.
func checkStatus(t *testing.T, agentAddr, serviceID string) string {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c, err := api.NewClient(&api.Config{Address: agentAddr, HttpClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	checks, _, err := c.Health().Checks(service, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range checks {
		if ch.ServiceID == serviceID {
			return ch.Status
		}
	}
	return "(no check)"
}

// Show 2: two servers register and the client spreads calls over both;
// one stops gracefully: 0 failed calls, and it leaves Consul before its
// listener closes.
func TestGracefulStop(t *testing.T) {
	agent := consultest.Start(t)
	check := &checkedRegistry{Registry: newRegistry(t, agent.HTTPAddr, consul.WithTTL(2*time.Second)), t: t,
		res: newResolver(t, agent.HTTPAddr), ok: make(chan bool, 1)}
	svrA, _ := startServer(t, "a", check)
	check.ready = true
	_, _ = startServer(t, "b", newRegistry(t, agent.HTTPAddr, consul.WithTTL(2*time.Second)))
	stub, spy, retried := newClient(t, newResolver(t, agent.HTTPAddr))
	l := startLoad(t, stub, 4)
	l.awaitCalls(t, "a", 100)
	l.awaitCalls(t, "b", 100)

	addrA := svrA.Addr().String()
	start := time.Now()
	if err := svrA.Stop(); err != nil {
		t.Fatal(err)
	}
	if !<-check.ok {
		t.Fatal("the instance did not leave Consul before its listener closed")
	}
	left := spy.await(t, 10*time.Second, "after a's graceful stop", hasNot(addrA))
	t.Logf("a left the client's picker %s after Stop began", ms(left.Sub(start)))
	l.awaitCalls(t, "b", 200)
	l.stop()
	l.checkNoFailures(t)
	if n := retried.Load(); n != 0 {
		t.Errorf("%d calls lost their connection on a graceful stop", n)
	}
}

// Show 2: a server process is killed (SIGKILL): its check goes critical
// and it leaves the client's picker within the check TTL plus one watch
// round, with no failed call; restarted, it is back in rotation.
func TestKillAndRestart(t *testing.T) {
	agent := consultest.Start(t)
	const ttl = time.Second
	_, _ = startServer(t, "a", newRegistry(t, agent.HTTPAddr, consul.WithTTL(ttl)))
	listen := freeAddr(t)
	b := startChild(t, "b", agent.HTTPAddr, listen, ttl)
	stub, spy, retried := newClient(t, newResolver(t, agent.HTTPAddr))
	l := startLoad(t, stub, 4)
	l.awaitCalls(t, "a", 100)
	l.awaitCalls(t, "b", 100)

	killed := time.Now()
	b.kill()
	left := spy.await(t, ttl+10*time.Second, "after SIGKILL of b", hasNot(b.addr))
	took := left.Sub(killed)
	t.Logf("killed b left the client's picker %s after SIGKILL (check TTL %v; heartbeat every %v)", ms(took), ttl, ttl/3)
	// TTL after the last heartbeat, which was at most TTL/3 before the
	// kill; plus one watch round; plus slack for a loaded machine.
	if limit := ttl + 3*time.Second; took > limit {
		t.Errorf("took %v, more than %v", took, limit)
	}
	// Its check is critical in Consul (the instance is not deregistered:
	// that comes after DeregisterCriticalServiceAfter).
	if st := checkStatus(t, agent.HTTPAddr, consul.ServiceID(service, b.addr)); st != api.HealthCritical {
		t.Errorf("killed b's check is %q, want critical", st)
	}
	l.awaitCalls(t, "a", 100)

	// Restarted on the same address: back in rotation.
	restart := time.Now()
	b2 := startChild(t, "b2", agent.HTTPAddr, listen, ttl)
	back := spy.await(t, 15*time.Second, "after b restarted", has(b2.addr))
	t.Logf("restarted b back in the client's picker %s after its process started", ms(back.Sub(restart)))
	l.awaitCalls(t, "b2", 100)
	l.stop()
	l.checkNoFailures(t)
	t.Logf("%d attempts failed on the killed server (unsent, or connection lost) and were retried on another instance", retried.Load())
}
