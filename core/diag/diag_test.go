package diag_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/diag"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/server"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

func TestRegistry(t *testing.T) {
	r := diag.NewRegistry(3)
	stop1, n1 := r.Register("client/Echo", func() any { return 1 })
	_, n2 := r.Register("client/Echo", func() any { return 2 })
	_, n3 := r.Register("broken", func() any { panic("boom") })
	if n1 != "client/Echo" || n2 != "client/Echo#2" || n3 != "broken" {
		t.Fatalf("names %q %q %q", n1, n2, n3)
	}
	snap := r.Snapshot()
	if snap["client/Echo"] != 1 || snap["client/Echo#2"] != 2 {
		t.Errorf("snapshot %v", snap)
	}
	if m, ok := snap["broken"].(map[string]string); !ok || !strings.Contains(m["error"], "boom") {
		t.Errorf("a panicking probe shows as %v", snap["broken"])
	}
	stop1()
	stop1() // idempotent
	if _, ok := r.Snapshot()["client/Echo"]; ok {
		t.Error("unregistered probe still shows")
	}
	for i := 0; i < 5; i++ {
		r.Record("src", fmt.Sprint("event ", i), "i", fmt.Sprint(i), "dangling")
	}
	evs := r.Events()
	if len(evs) != 3 || evs[0].Message != "event 2" || evs[2].Message != "event 4" || evs[2].Attrs["i"] != "4" || len(evs[2].Attrs) != 1 {
		t.Errorf("ring kept %+v, want events 2 to 4, oldest first", evs)
	}

	var nilReg *diag.Registry
	stop, _ := nilReg.Register("x", func() any { return nil })
	stop()
	nilReg.Record("x", "y")
	if nilReg.Snapshot() != nil || nilReg.Events() != nil {
		t.Error("a nil registry reports something")
	}
}

// TestHandler: a server and a client with the registry, one call made:
// the JSON dump has each section (the server's options, services and
// connections; the client's options, pool per address, discovery cache
// and balancer; the events).
func TestHandler(t *testing.T) {
	reg := diag.NewRegistry(0)
	svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithDiagnosis(reg))
	if err := svr.RegisterService(toycodec.Service(), toycodec.Handler(func(_ context.Context, in []byte) ([]byte, error) { return in, nil })); err != nil {
		t.Fatal(err)
	}
	if err := svr.Start(); err != nil {
		t.Fatal(err)
	}
	defer svr.Stop()
	addr := svr.Addr().String()
	cli, err := client.New(toycodec.Service(), client.WithHostPorts(addr), client.WithDiagnosis(reg))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var out toycodec.Bytes
	if err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("x")}, &out); err != nil {
		t.Fatal(err)
	}

	hs := httptest.NewServer(reg)
	defer hs.Close()
	resp, err := http.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	var dump struct {
		Probes map[string]json.RawMessage `json:"probes"`
		Events []diag.Event               `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&dump); err != nil {
		t.Fatal(err)
	}
	var ss struct {
		Address     string              `json:"address"`
		Services    map[string][]string `json:"services"`
		Connections int64               `json:"connections"`
		ReadTimeout string              `json:"read_timeout"`
	}
	if err := json.Unmarshal(dump.Probes["server/"+addr], &ss); err != nil {
		t.Fatalf("server probe: %v (%s)", err, dump.Probes["server/"+addr])
	}
	if ss.Address != addr || strings.Join(ss.Services["Toy"], ",") != "Echo,Notify" || ss.Connections != 1 || ss.ReadTimeout == "" {
		t.Errorf("server probe %+v", ss)
	}
	var cs struct {
		Service   string `json:"service"`
		Balancer  string `json:"balancer"`
		Instances []struct {
			Address string `json:"address"`
		} `json:"instances"`
		Pool struct {
			Kind  string `json:"kind"`
			Addrs map[string]struct {
				Idle int `json:"idle"`
			} `json:"addresses"`
		} `json:"pool"`
		RPCTimeout string `json:"rpc_timeout"`
	}
	if err := json.Unmarshal(dump.Probes["client/Toy"], &cs); err != nil {
		t.Fatalf("client probe: %v (%s)", err, dump.Probes["client/Toy"])
	}
	if cs.Service != "Toy" || cs.Balancer == "" || len(cs.Instances) != 1 || cs.Instances[0].Address != addr ||
		cs.Pool.Kind != "long" || cs.Pool.Addrs[addr].Idle != 1 || cs.RPCTimeout == "" {
		t.Errorf("client probe %+v", cs)
	}
	var started, discovered bool
	for _, e := range dump.Events {
		started = started || e.Source == "server/"+addr && e.Message == "started"
		discovered = discovered || e.Source == "client/Toy" && e.Message == "discovery change" && e.Attrs["instances"] == "1"
	}
	if !started || !discovered {
		t.Errorf("events %+v", dump.Events)
	}

	_ = cli.Close()
	_ = svr.Stop()
	if snap := reg.Snapshot(); len(snap) != 0 {
		t.Errorf("probes left after Close and Stop: %v", snap)
	}
	evs := reg.Events()
	if last := evs[len(evs)-1]; last.Message != "stopped" {
		t.Errorf("last event %+v, want the server's stop", last)
	}
	if resp, err := http.Post(hs.URL, "text/plain", nil); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST: %s", resp.Status)
		}
	}
}

// A module with state worth showing registers a probe and records its
// transitions.
func ExampleRegistry() {
	reg := diag.NewRegistry(0)
	state := "closed"
	stop, name := reg.Register("breaker/EchoService", func() any { return map[string]string{"state": state} })
	defer stop()
	reg.Record(name, "state change", "from", "closed", "to", "open")

	fmt.Println(reg.Snapshot())
	for _, e := range reg.Events() {
		fmt.Println(e.Source, e.Message, e.Attrs)
	}
	// Output:
	// map[breaker/EchoService:map[state:closed]]
	// breaker/EchoService state change map[from:closed to:open]
}

func TestPprofLabels(t *testing.T) {
	ci := callinfo.New(context.Background())
	ci.Service, ci.Method = "Echo", "Say"
	var svc, method string
	err := diag.PprofLabels()(func(ctx context.Context, _, _ any) error {
		svc, _ = pprof.Label(ctx, "service")
		method, _ = pprof.Label(ctx, "method")
		if callinfo.From(ctx) != ci {
			t.Error("the call info is lost")
		}
		return errBoom
	})(ci, nil, nil)
	if err != errBoom || svc != "Echo" || method != "Say" {
		t.Errorf("err %v, labels %q %q", err, svc, method)
	}
}

var errBoom = errors.New("boom")
