package consul_test

import (
	"context"
	"slices"
	"testing"
	"time"

	consul "github.com/skiffrpc/skiff/registry-consul"
	"github.com/skiffrpc/skiff/registry-consul/consultest"
)

// Show 3: the agent is stopped for 10 s while calls flow: no call fails
// (the client keeps the cached instance set) and the watch resumes when
// the agent is back. The agent keeps its state in a data directory, as a
// production agent does, so its registrations survive the restart.
func TestAgentStopped(t *testing.T) {
	agent := consultest.StartPersistent(t)
	const ttl = 2 * time.Second
	_, _ = startServer(t, "a", newRegistry(t, agent.HTTPAddr, consul.WithTTL(ttl)))
	_, _ = startServer(t, "b", newRegistry(t, agent.HTTPAddr, consul.WithTTL(ttl)))
	stub, spy, retried := newClient(t, newResolver(t, agent.HTTPAddr))
	l := startLoad(t, stub, 4)
	l.awaitCalls(t, "a", 100)
	l.awaitCalls(t, "b", 100)
	before := spy.current()

	agent.Stop()
	ok0, _, _ := l.snapshot()
	time.Sleep(10 * time.Second)
	ok1, failed, _ := l.snapshot()
	t.Logf("while the agent was down for 10 s: %d calls ok, %d failed; instances %v", ok1-ok0, failed, spy.current())
	if !slices.Equal(spy.current(), before) {
		t.Errorf("the instance set changed while the agent was down: %v, was %v", spy.current(), before)
	}
	agent.Restart()
	agent.WaitLeader(60 * time.Second)

	// The watch resumes: a server registered now reaches the client.
	svrC, _ := startServer(t, "c", newRegistry(t, agent.HTTPAddr, consul.WithTTL(ttl)))
	spy.await(t, 20*time.Second, "after the agent came back", has(svrC.Addr().String()))
	l.awaitCalls(t, "c", 50)
	l.awaitCalls(t, "a", 50)
	l.awaitCalls(t, "b", 50)
	l.stop()
	l.checkNoFailures(t)
	if n := retried.Load(); n != 0 {
		t.Errorf("%d attempts needed a retry though every server was up", n)
	}
}

// Show 3: a three-server Consul cluster on 127.0.0.2-127.0.0.4 loses its
// leader (SIGKILL): discovery goes on, registrations survive, and the
// cluster takes new registrations once it has elected another leader.
func TestClusterLeaderKilled(t *testing.T) {
	agents := consultest.StartCluster(t, 3)
	leaderAddr := agents[0].Leader()
	var leader *consultest.Agent
	var follower *consultest.Agent
	for _, a := range agents {
		if a.ServerAddr() == leaderAddr {
			leader = a
		} else if follower == nil {
			follower = a
		}
	}
	if leader == nil || follower == nil {
		t.Fatalf("leader %q is none of the servers", leaderAddr)
	}
	// Servers and client talk to a follower's agent (in production, the
	// local client agent); the leader goes away under them.
	const ttl = 2 * time.Second
	_, _ = startServer(t, "a", newRegistry(t, follower.HTTPAddr, consul.WithTTL(ttl)))
	_, _ = startServer(t, "b", newRegistry(t, follower.HTTPAddr, consul.WithTTL(ttl)))
	res := newResolver(t, follower.HTTPAddr)
	stub, spy, _ := newClient(t, res)
	l := startLoad(t, stub, 4)
	l.awaitCalls(t, "a", 100)
	l.awaitCalls(t, "b", 100)
	before := spy.current()

	killed := time.Now()
	leader.Kill()
	for {
		if l := follower.Leader(); l != "" && l != leaderAddr {
			t.Logf("new leader %s elected %s after the old one was killed", l, ms(time.Since(killed)))
			break
		}
		if time.Since(killed) > 60*time.Second {
			t.Fatalf("no new leader 60 s after the leader was killed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.awaitCalls(t, "a", 100)
	l.awaitCalls(t, "b", 100)
	if !slices.Equal(spy.current(), before) {
		t.Errorf("instances changed across the election: %v, was %v", spy.current(), before)
	}
	// Registrations survived: a fresh (stale-allowed) read from the other
	// follower lists both.
	var other *consultest.Agent
	for _, a := range agents {
		if a != leader && a != follower {
			other = a
		}
	}
	r2 := newResolver(t, other.HTTPAddr, consul.WithStale(true))
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := r2.Resolve(context.Background(), service)
		if err == nil && len(got.Instances) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the election the other server resolves %v, %v", got.Instances, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// New registrations work and reach the watching client.
	svrC, _ := startServer(t, "c", newRegistry(t, follower.HTTPAddr, consul.WithTTL(ttl)))
	spy.await(t, 20*time.Second, "registration after the election", has(svrC.Addr().String()))
	l.awaitCalls(t, "c", 50)
	l.stop()
	l.checkNoFailures(t)
}
