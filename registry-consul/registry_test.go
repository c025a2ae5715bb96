package consul_test

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/skiffrpc/skiff/core/registry"
	consul "github.com/skiffrpc/skiff/registry-consul"
)

type unixAddr string

func (a unixAddr) Network() string { return "unix" }
func (a unixAddr) String() string  { return string(a) }

type verbatim string

func (a verbatim) Network() string { return "tcp" }
func (a verbatim) String() string  { return string(a) }

func tcp(s string) net.Addr { return verbatim(s) }

// Register refuses what cannot become a Consul instance, with an error
// that says why, before it contacts the agent.
func TestRegisterRejects(t *testing.T) {
	r, err := consul.NewRegistry(consul.WithAddress("127.0.0.1:1")) // never dialled
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	long := strings.Repeat("x", 513)
	many := map[string]string{}
	for i := range 64 {
		many["k"+strings.Repeat("a", i)] = "v"
	}
	cases := []struct {
		name string
		info *registry.Info
		want string
	}{
		{"nil", nil, "nil registry.Info"},
		{"no names", &registry.Info{Addr: tcp("127.0.0.1:80")}, "without service names"},
		{"no addr", &registry.Info{ServiceName: "s"}, "without Addr"},
		{"unix", &registry.Info{ServiceName: "s", Addr: unixAddr("/tmp/s.sock")}, "unix address"},
		{"no port", &registry.Info{ServiceName: "s", Addr: tcp("127.0.0.1")}, "missing port"},
		{"port 0", &registry.Info{ServiceName: "s", Addr: tcp("127.0.0.1:0")}, "port must be a number from 1 to 65535"},
		{"port name", &registry.Info{ServiceName: "s", Addr: tcp("127.0.0.1:http")}, "port must be a number"},
		{"no host", &registry.Info{ServiceName: "s", Addr: tcp(":80")}, "has no host"},
		{"unspecified", &registry.Info{ServiceName: "s", Addr: tcp("0.0.0.0:80")}, "unspecified host"},
		{"negative weight", &registry.Info{ServiceName: "s", Addr: tcp("127.0.0.1:80"), Weight: -1}, "negative"},
		{"bad tag key", &registry.Info{ServiceName: "s", Addr: tcp("127.0.0.1:80"), Tags: map[string]string{"a.b": "1"}}, `tag key "a.b"`},
		{"reserved tag key", &registry.Info{ServiceName: "s", Addr: tcp("127.0.0.1:80"), Tags: map[string]string{"consul-x": "1"}}, `"consul-"`},
		{"long tag value", &registry.Info{ServiceName: "s", Addr: tcp("127.0.0.1:80"), Tags: map[string]string{"a": long}}, "longer than Consul's 512"},
		{"too many tags", &registry.Info{ServiceName: "s", Addr: tcp("127.0.0.1:80"), Tags: many}, "64 Meta keys"},
		{"slash in name", &registry.Info{ServiceName: "a/b", Addr: tcp("127.0.0.1:80")}, "service name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.Register(c.info)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Register: %v; want an error saying %q", err, c.want)
			}
		})
	}
}

// agentFake records the agent calls a Registry makes.
type agentFake struct {
	mu        sync.Mutex
	regs      []api.AgentServiceRegistration
	updates   int
	forget    bool // answer heartbeats 404, as an agent that lost the check
	deregs    []string
	heartbeat chan struct{}
}

func (a *agentFake) handle(w http.ResponseWriter, r *http.Request) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case r.URL.Path == "/v1/agent/service/register":
		var reg api.AgentServiceRegistration
		if err := json.NewDecoder(r.Body).Decode(&reg); err != nil {
			http.Error(w, err.Error(), 400)
			return true
		}
		a.regs = append(a.regs, reg)
		a.forget = false
	case strings.HasPrefix(r.URL.Path, "/v1/agent/check/update/"):
		a.updates++
		select {
		case a.heartbeat <- struct{}{}:
		default:
		}
		if a.forget {
			http.Error(w, `Unknown check ID "`+strings.TrimPrefix(r.URL.Path, "/v1/agent/check/update/")+`"`, 404)
		}
	case strings.HasPrefix(r.URL.Path, "/v1/agent/service/deregister/"):
		a.deregs = append(a.deregs, strings.TrimPrefix(r.URL.Path, "/v1/agent/service/deregister/"))
		if len(a.deregs) > 2 {
			http.Error(w, "Unknown service ID", 404)
		}
	default:
		return false
	}
	return true
}

func TestRegisterHeartbeatReregister(t *testing.T) {
	f := newFake(t)
	a := &agentFake{heartbeat: make(chan struct{}, 100)}
	f.other = a.handle
	l := &logs{}
	r, err := consul.NewRegistry(consul.WithAddress(f.addr()), consul.WithTTL(300*time.Millisecond),
		consul.WithTags("blue"), consul.WithProtocol("ttheader"), consul.WithLogger(slog.New(l)),
		consul.WithDeregisterCriticalAfter(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info := &registry.Info{ServiceName: "a", Services: []string{"a", "b"}, Addr: tcp("127.0.0.1:8888"), Weight: 5,
		Tags: map[string]string{"zone": "z1"}}
	if err := r.Register(info); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	if len(a.regs) != 2 {
		t.Fatalf("%d registrations, want 2", len(a.regs))
	}
	reg := a.regs[0]
	a.mu.Unlock()
	if reg.ID != "a@127.0.0.1:8888" || reg.Name != "a" || reg.Address != "127.0.0.1" || reg.Port != 8888 {
		t.Fatalf("registration %+v", reg)
	}
	if strings.Join(reg.Tags, ",") != "blue,zone=z1" {
		t.Fatalf("tags %v", reg.Tags)
	}
	if reg.Meta["weight"] != "5" || reg.Meta["protocol"] != "ttheader" || reg.Meta["zone"] != "z1" || reg.Weights.Passing != 5 {
		t.Fatalf("meta %v weights %+v", reg.Meta, reg.Weights)
	}
	c := reg.Check
	if c == nil || c.TTL != "300ms" || c.Status != "passing" || c.DeregisterCriticalServiceAfter != "2m0s" || c.CheckID != "skiff:a@127.0.0.1:8888" {
		t.Fatalf("check %+v", c)
	}
	// Heartbeats flow; then the agent forgets: the next heartbeat fails
	// and the instance registers again.
	<-a.heartbeat
	a.mu.Lock()
	a.forget = true
	a.mu.Unlock()
	waitFor(t, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.regs) >= 3
	})
	// The log line follows the agent's answer.
	waitFor(t, func() bool { return l.find("registered again") != "" })
	// Deregister stops the heartbeats and removes both services; an
	// unknown ID (404) is not an error.
	if err := r.Deregister(&registry.Info{ServiceName: "a", Services: []string{"a", "b"}, Addr: tcp("127.0.0.1:8888")}); err != nil {
		t.Fatal(err)
	}
	if err := r.Deregister(&registry.Info{ServiceName: "a", Addr: tcp("127.0.0.1:8888")}); err != nil {
		t.Fatalf("second Deregister (404): %v", err)
	}
	a.mu.Lock()
	n := a.updates
	deregs := strings.Join(a.deregs, " ")
	a.mu.Unlock()
	if deregs != "a@127.0.0.1:8888 b@127.0.0.1:8888 a@127.0.0.1:8888" {
		t.Fatalf("deregistrations %s", deregs)
	}
	time.Sleep(300 * time.Millisecond)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.updates != n {
		t.Fatalf("heartbeats after Deregister")
	}
}

// An agent that is down at Register: the error is returned, and the
// instance registers once the agent answers.
func TestRegisterAgentDownThenUp(t *testing.T) {
	f := newFake(t)
	// The agent does not know the check until the instance registers.
	a := &agentFake{heartbeat: make(chan struct{}, 100), forget: true}
	var up sync.Mutex
	down := true
	f.other = func(w http.ResponseWriter, r *http.Request) bool {
		up.Lock()
		d := down
		up.Unlock()
		if d {
			http.Error(w, "agent starting", 503)
			return true
		}
		return a.handle(w, r)
	}
	r, err := consul.NewRegistry(consul.WithAddress(f.addr()), consul.WithTTL(150*time.Millisecond),
		consul.WithBackoff(10*time.Millisecond, 40*time.Millisecond), consul.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info := &registry.Info{ServiceName: "a", Addr: tcp("127.0.0.1:8888")}
	if err := r.Register(info); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Register with the agent down: %v", err)
	}
	up.Lock()
	down = false
	up.Unlock()
	waitFor(t, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.regs) >= 1
	})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(info); err != consul.ErrClosed {
		t.Fatalf("Register after Close: %v", err)
	}
}
