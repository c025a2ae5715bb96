package server_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/engine"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/registry"
	"github.com/skiffrpc/skiff/core/registrytest"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/service"
)

// hooked is an in-memory registry that records what the server registers
// and, at the moment of each call, whether the registered address takes a
// fresh TCP connection.
type hooked struct {
	*registrytest.Memory
	fail error // returned by Register, after registering

	mu           sync.Mutex
	registered   []*registry.Info
	deregistered []*registry.Info
	dialRegister []error
	dialDereg    []error
}

func newHooked() *hooked { return &hooked{Memory: registrytest.NewMemory()} }

// dial connects to 127.0.0.1 at a's port: the servers under test listen on
// loopback or on every interface, and tests reach only loopback, whatever
// host the registered address names (this machine's IPv4 address, or an
// advertised name that is never resolved).
func dial(a net.Addr) error {
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", p), 2*time.Second)
	if err == nil {
		_ = c.Close()
	}
	return err
}

func copyInfo(info *registry.Info) *registry.Info {
	c := *info
	c.Services = append([]string(nil), info.Services...)
	return &c
}

func (h *hooked) Register(info *registry.Info) error {
	err := dial(info.Addr)
	h.mu.Lock()
	h.registered = append(h.registered, copyInfo(info))
	h.dialRegister = append(h.dialRegister, err)
	h.mu.Unlock()
	if rerr := h.Memory.Register(info); rerr != nil {
		return rerr
	}
	return h.fail
}

func (h *hooked) Deregister(info *registry.Info) error {
	err := dial(info.Addr)
	h.mu.Lock()
	h.deregistered = append(h.deregistered, copyInfo(info))
	h.dialDereg = append(h.dialDereg, err)
	h.mu.Unlock()
	return h.Memory.Deregister(info)
}

// calls returns copies of what the registry recorded.
func (h *hooked) calls() (reg, dereg []*registry.Info, dialReg, dialDereg []error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append(reg, h.registered...), append(dereg, h.deregistered...),
		append(dialReg, h.dialRegister...), append(dialDereg, h.dialDereg...)
}

// otherService is the toy service under another name.
func otherService() *service.Info {
	info := toycodec.Service()
	info.Name = "Other"
	return info
}

// startTwo starts a server serving the toy service and Other.
func startTwo(t *testing.T, opts ...server.Option) *server.Server {
	t.Helper()
	svr := server.New(append([]server.Option{server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet)}, opts...)...)
	if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(echo)); err != nil {
		t.Fatal(err)
	}
	if err := svr.RegisterService(otherService(), toycodec.Handler(echo)); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return svr
}

func port(t *testing.T, a net.Addr) string {
	t.Helper()
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatalf("address %v: %v", a, err)
	}
	return p
}

// A server listening on every interface (":0") registers all its
// services, once, after it listens, with an address clients can dial; a
// client that resolves either service through the registry reaches it.
func TestRegistryRegistersEveryServiceDialable(t *testing.T) {
	reg := newHooked()
	svr := startTwo(t, server.WithAddress(":0"), server.WithRegistry(reg, nil))
	regs, deregs, dialed, _ := reg.calls()
	if len(regs) != 1 || len(deregs) != 0 {
		t.Fatalf("after Start: %d Register and %d Deregister calls, want 1 and 0", len(regs), len(deregs))
	}
	info := regs[0]
	if want := []string{"Toy", "Other"}; !reflect.DeepEqual(info.Services, want) || info.ServiceName != "Toy" {
		t.Errorf("registered Services %q, ServiceName %q; want %q, %q", info.Services, info.ServiceName, want, "Toy")
	}
	if info.Weight != 0 || info.Tags != nil {
		t.Errorf("registered Weight %d, Tags %v; want 0, nil", info.Weight, info.Tags)
	}
	host, p, err := net.SplitHostPort(info.Addr.String())
	if err != nil {
		t.Fatalf("registered address %v: %v", info.Addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.To4() == nil || ip.IsUnspecified() {
		t.Errorf("registered address %v (listening at %v): want this machine's IPv4 address", info.Addr, svr.Addr())
	}
	if p != port(t, svr.Addr()) || info.Addr.Network() != "tcp" {
		t.Errorf("registered %s %v, listening at %v", info.Addr.Network(), info.Addr, svr.Addr())
	}
	if dialed[0] != nil {
		t.Errorf("dialing the registered address while Register ran: %v (the server must listen first)", dialed[0])
	}
	if err := svr.RegisterErr(); err != nil {
		t.Errorf("RegisterErr() = %v", err)
	}
	for _, svc := range []*service.Info{toycodec.Service(), otherService()} {
		cli, err := client.New(svc, client.WithResolver(reg), client.WithResolverWrapper(toLoopback))
		if err != nil {
			t.Fatal(err)
		}
		var out toycodec.Bytes
		err = cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte(svc.Name)}, &out)
		_ = cli.Close()
		if err != nil || string(out.B) != svc.Name {
			t.Errorf("call to %s through the registry: %q, %v", svc.Name, out.B, err)
		}
	}
}

// toLoopback wraps a resolver so its instances are reached on 127.0.0.1 at
// their registered port: the test checks what was registered, and sends
// traffic to loopback only.
func toLoopback(r discovery.Resolver) discovery.Resolver { return loopbackResolver{r} }

type loopbackResolver struct{ discovery.Resolver }

func (r loopbackResolver) Resolve(ctx context.Context, svc string) (discovery.Result, error) {
	res, err := r.Resolver.Resolve(ctx, svc)
	if err != nil {
		return res, err
	}
	out := discovery.Result{Instances: make([]discovery.Instance, 0, len(res.Instances))}
	for _, in := range res.Instances {
		_, p, err := net.SplitHostPort(in.Address())
		if err != nil {
			return res, err
		}
		out.Instances = append(out.Instances, discovery.NewInstance("tcp", net.JoinHostPort("127.0.0.1", p), in.Weight(), nil))
	}
	return out, nil
}

// A specific listen host is registered as it is.
func TestRegistryKeepsSpecificListenHost(t *testing.T) {
	reg := newHooked()
	svr := startTwo(t, server.WithRegistry(reg, nil))
	regs, _, _, _ := reg.calls()
	if len(regs) != 1 || regs[0].Addr.String() != svr.Addr().String() {
		t.Fatalf("registered %v, want the listen address %v", regs, svr.Addr())
	}
}

// Stop deregisters first: at that moment the server still accepts
// connections; once Stop returns it does not.
func TestStopDeregistersBeforeClosingListener(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []server.Option
	}{
		{"netpoll", nil},
		{"std", []server.Option{server.WithEngine(engine.Std)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newHooked()
			svr := startTwo(t, append(tc.opts, server.WithRegistry(reg, nil))...)
			addr := svr.Addr()
			if err := svr.Stop(); err != nil {
				t.Fatal(err)
			}
			regs, deregs, _, dialed := reg.calls()
			if len(deregs) != 1 {
				t.Fatalf("Stop made %d Deregister calls, want 1", len(deregs))
			}
			if !reflect.DeepEqual(deregs[0], regs[0]) {
				t.Errorf("deregistered %+v, registered %+v", deregs[0], regs[0])
			}
			if dialed[0] != nil {
				t.Errorf("dialing the server while Deregister ran: %v (the listener closed first)", dialed[0])
			}
			if err := dial(addr); err == nil {
				t.Errorf("the server accepts connections after Stop")
			}
			for _, name := range []string{"Toy", "Other"} {
				if res, err := reg.Resolve(context.Background(), name); err != nil || len(res.Instances) != 0 {
					t.Errorf("after Stop, %s resolves to %v, %v", name, res.Instances, err)
				}
			}
			_ = svr.Stop()
			if _, deregs, _, _ := reg.calls(); len(deregs) != 1 {
				t.Errorf("a second Stop deregistered again")
			}
		})
	}
}

// WithAdvertiseAddress is registered verbatim.
func TestWithAdvertiseAddressVerbatim(t *testing.T) {
	for _, addr := range []string{"svc-1.example.internal:9000", "10.20.30.40:7777", "[fd00::1]:8888"} {
		t.Run(addr, func(t *testing.T) {
			reg := newHooked()
			startTwo(t, server.WithAddress(":0"), server.WithRegistry(reg, nil), server.WithAdvertiseAddress(addr))
			regs, _, _, _ := reg.calls()
			if len(regs) != 1 || regs[0].Addr.String() != addr || regs[0].Addr.Network() != "tcp" {
				t.Fatalf("registered %+v, want tcp address %s", regs, addr)
			}
		})
	}
}

// A bad advertise address fails Start before the server listens or
// registers.
func TestBadAdvertiseAddressFailsStart(t *testing.T) {
	for _, addr := range []string{"no-port", ":8888", "0.0.0.0:8888", "[::]:8888", "host:0", "host:70000", "host:http"} {
		t.Run(addr, func(t *testing.T) {
			reg := newHooked()
			svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet),
				server.WithRegistry(reg, nil), server.WithAdvertiseAddress(addr))
			if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(echo)); err != nil {
				t.Fatal(err)
			}
			err := svr.Start()
			if err == nil || !strings.Contains(err.Error(), "WithAdvertiseAddress") {
				_ = svr.Stop()
				t.Fatalf("Start = %v, want an error about WithAdvertiseAddress", err)
			}
			if a := svr.Addr(); a != nil {
				t.Errorf("Start failed but listens at %v", a)
			}
			if regs, _, _, _ := reg.calls(); len(regs) != 0 {
				t.Errorf("Start failed but registered %v", regs)
			}
			_ = svr.Stop()
		})
	}
}

// The WithRegistry Info is copied with its empty fields filled in.
func TestWithRegistryInfoFilledIn(t *testing.T) {
	tags := map[string]string{"zone": "a"}
	given := &registry.Info{Weight: 5, Tags: tags}
	reg := newHooked()
	svr := startTwo(t, server.WithRegistry(reg, given))
	regs, _, _, _ := reg.calls()
	got := regs[0]
	want := &registry.Info{ServiceName: "Toy", Services: []string{"Toy", "Other"}, Addr: svr.Addr(), Weight: 5, Tags: tags}
	if got.ServiceName != want.ServiceName || !reflect.DeepEqual(got.Services, want.Services) ||
		got.Addr.String() != want.Addr.String() || got.Weight != 5 || !reflect.DeepEqual(got.Tags, tags) {
		t.Errorf("registered %+v, want %+v", got, want)
	}
	if given.ServiceName != "" || given.Services != nil || given.Addr != nil {
		t.Errorf("the server modified the WithRegistry Info: %+v", given)
	}

	// ServiceName alone names the only service; a given Addr wins over
	// WithAdvertiseAddress.
	fixed := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}
	reg = newHooked()
	startTwo(t, server.WithRegistry(reg, &registry.Info{ServiceName: "Custom", Addr: fixed}),
		server.WithAdvertiseAddress("127.0.0.1:5555"))
	regs, _, _, _ = reg.calls()
	if got := regs[0]; got.ServiceName != "Custom" || !reflect.DeepEqual(got.Services, []string{"Custom"}) || got.Addr != net.Addr(fixed) {
		t.Errorf("registered %+v, want Custom at %v only", got, fixed)
	}
}

// Services that share a bare name are registered under it once.
func TestRegistryServiceNamesOnce(t *testing.T) {
	twin := toycodec.Service()
	twin.Package = "other.pkg"
	reg := newHooked()
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithLogger(quiet), server.WithRegistry(reg, nil))
	for _, info := range []*service.Info{toycodec.Service(), twin, otherService()} {
		if err := svr.RegisterService(info, toycodec.Handler(echo)); err != nil {
			t.Fatal(err)
		}
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	defer svr.Stop()
	regs, _, _, _ := reg.calls()
	if want := []string{"Toy", "Other"}; !reflect.DeepEqual(regs[0].Services, want) {
		t.Errorf("registered Services %q, want %q", regs[0].Services, want)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A failing Register does not fail Start: it is logged and RegisterErr
// reports it, the server serves, and Stop still deregisters.
func TestRegisterFailureIsLoggedAndReported(t *testing.T) {
	errDown := errors.New("registry down")
	reg := newHooked()
	reg.fail = errDown
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	svr := startTwo(t, server.WithRegistry(reg, nil), server.WithLogger(logger))
	if err := svr.RegisterErr(); !errors.Is(err, errDown) {
		t.Errorf("RegisterErr() = %v, want %v", err, errDown)
	}
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "registry down") {
		t.Errorf("the failure was not logged at level Error: %q", out)
	}
	cli := newClient(t, svr.Addr().String())
	var out toycodec.Bytes
	if err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("x")}, &out); err != nil {
		t.Errorf("call after a failed registration: %v", err)
	}
	if err := svr.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, deregs, _, _ := reg.calls(); len(deregs) != 1 {
		t.Errorf("Stop made %d Deregister calls after a failed Register, want 1", len(deregs))
	}
}

// Without a registry there is nothing to report.
func TestRegisterErrWithoutRegistry(t *testing.T) {
	svr := start(t, echo)
	if err := svr.RegisterErr(); err != nil {
		t.Errorf("RegisterErr() = %v", err)
	}
}
